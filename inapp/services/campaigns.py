"""Writes for in-app campaigns: create, update, and the status actions (approve = go live,
pause, resume, stop). Status changes only through TRANSITIONS, in the transaction that locks
the campaign row; `stopped` is final. Every write is audited and forgets the app's cached
snapshot of live campaigns, so a phone sees the change on its next call."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaigns.audience import AudienceError, audience_validate
from devices.models import MobileApp
from inapp.models import InAppCampaign, InAppMessage
from inapp.rules import (
    InAppError,
    frequency_cap_validate,
    priority_validate,
    trigger_validate,
)
from inapp.services.cache import live_campaigns_evict
from pushmarketing.core.addons import IN_APP_ADDON_DISABLED_MESSAGE, in_app_messages_enabled
from pushmarketing.core.audit import audit_record, fields_apply
from pushmarketing.core.roles import Role, user_has_role

logger = logging.getLogger(__name__)

S = InAppCampaign.Status
EDITABLE_FIELDS = (
    "name",
    "message",
    "audience",
    "starts_at",
    "ends_at",
    "trigger",
    "trigger_action_name",
    "display_limit",
    "priority",
    "frequency_cap_count",
    "frequency_cap_hours",
)
MAX_NAME_CHARS = 120


class Action(StrEnum):
    EDIT = "edit"
    APPROVE = "approve"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, Action.EDIT): S.DRAFT,
    (S.LIVE, Action.EDIT): S.LIVE,
    (S.PAUSED, Action.EDIT): S.PAUSED,
    (S.DRAFT, Action.APPROVE): S.LIVE,
    (S.LIVE, Action.PAUSE): S.PAUSED,
    (S.PAUSED, Action.RESUME): S.LIVE,
    (S.DRAFT, Action.STOP): S.STOPPED,
    (S.LIVE, Action.STOP): S.STOPPED,
    (S.PAUSED, Action.STOP): S.STOPPED,
}


def campaign_next_status(status: str, action: Action) -> str:
    """The status after `action`, or InAppError with the sentence the UI and API show."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        label = S(status).label.lower()
        raise InAppError("status", f"a {label} campaign cannot {action.value}") from None


def _require(actor: User | None, role: str, what: str) -> None:
    if not user_has_role(actor, role):
        raise PermissionDenied(f"Only {role}s and admins can {what} in-app campaigns.")


def _require_addon() -> None:
    if not in_app_messages_enabled():
        raise InAppError("addon", IN_APP_ADDON_DISABLED_MESSAGE)


def _as_message(value: Any, app_id: int) -> InAppMessage:
    message_id = value.pk if isinstance(value, InAppMessage) else value
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise InAppError("message", "must be the id of an in-app message")
    message = InAppMessage.objects.filter(pk=message_id, app_id=app_id).first()
    if message is None:
        raise InAppError("message", "must be an in-app message of the campaign's app")
    return message


def _datetime(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise InAppError(field, "must be a date and time with a time zone")
    return value


def _clean(
    fields: dict[str, Any], campaign: InAppCampaign, message: InAppMessage | None
) -> dict[str, Any]:
    """Every editable field checked against its rule; the result is the campaign's new values.
    `message` is the campaign's current one (None for a new campaign)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InAppError(sorted(unknown)[0], "is not an editable field of an in-app campaign")
    merged = {name: getattr(campaign, name) for name in EDITABLE_FIELDS if name != "message"}
    merged["message"] = message
    merged.update(fields)
    name = merged["name"]
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_CHARS:
        raise InAppError("name", f"must be 1-{MAX_NAME_CHARS} characters")
    if merged["message"] is None:
        raise InAppError("message", "is required")
    message = _as_message(merged["message"], campaign.app_id)
    try:
        audience = audience_validate(merged["audience"])
    except AudienceError as exc:
        raise InAppError(exc.field, exc.rule) from exc
    starts_at = _datetime(merged["starts_at"], "starts_at")
    ends_at = _datetime(merged["ends_at"], "ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InAppError("ends_at", "must be after the start")
    trigger, action_name = trigger_validate(merged["trigger"], merged["trigger_action_name"])
    if merged["display_limit"] not in InAppCampaign.DisplayLimit.values:
        raise InAppError(
            "display_limit", f"must be one of: {', '.join(InAppCampaign.DisplayLimit.values)}"
        )
    cap_count, cap_hours = frequency_cap_validate(
        merged["frequency_cap_count"], merged["frequency_cap_hours"]
    )
    return {
        "name": name.strip(),
        "message": message,
        "audience": audience,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "trigger": trigger,
        "trigger_action_name": action_name,
        "display_limit": merged["display_limit"],
        "priority": priority_validate(merged["priority"]),
        "frequency_cap_count": cap_count,
        "frequency_cap_hours": cap_hours,
    }


def _changes_for_audit(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    def plain(value: Any) -> Any:
        if isinstance(value, InAppMessage):
            return value.pk
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return value

    return {name: [plain(old), plain(new)] for name, (old, new) in changes.items()}


@transaction.atomic
def campaign_create(*, app: MobileApp, actor: User | None, fields: dict[str, Any]) -> InAppCampaign:
    """A draft campaign; it shows nothing until approved."""
    _require(actor, Role.MARKETER, "create")
    campaign = InAppCampaign(app=app, created_by=actor)
    clean = _clean(fields, campaign, None)
    campaign.message = clean.pop("message")
    fields_apply(campaign, clean)
    campaign.save()
    audit_record(
        actor=actor,
        action="inapp_campaign.created",
        target=campaign,
        summary=f"Created in-app campaign {campaign.name!r}",
        details={"app_id": app.pk, "message_id": campaign.message_id},
    )
    return campaign


def campaign_locked(campaign_id: int) -> InAppCampaign:
    return InAppCampaign.objects.select_for_update().select_related("message").get(pk=campaign_id)


@transaction.atomic
def campaign_update(
    *, campaign: InAppCampaign, actor: User | None, fields: dict[str, Any]
) -> InAppCampaign:
    """Edit a draft, live or paused campaign (a live one changes on phones at once)."""
    _require(actor, Role.MARKETER, "edit")
    campaign = campaign_locked(campaign.pk)
    campaign_next_status(campaign.status, Action.EDIT)
    clean = _clean(fields, campaign, campaign.message)
    if campaign.status != S.DRAFT:
        _check_showable(clean["message"], clean["ends_at"])
    changes = fields_apply(campaign, clean)
    if not changes:
        return campaign
    campaign.save()
    live_campaigns_evict(app_id=campaign.app_id)
    audit_record(
        actor=actor,
        action="inapp_campaign.edited",
        target=campaign,
        summary=f"Edited in-app campaign {campaign.name!r}",
        details={"app_id": campaign.app_id, "changes": _changes_for_audit(changes)},
    )
    return campaign


def _check_showable(message: InAppMessage, ends_at: dt.datetime | None) -> None:
    if message.approved_content is None:
        raise InAppError("message", "must be approved before the campaign goes live")
    if ends_at is not None and ends_at <= timezone.now():
        raise InAppError("ends_at", "is in the past: the campaign would never show")


def _act(
    *, campaign: InAppCampaign, actor: User | None, action: Action, **extra: Any
) -> InAppCampaign:
    campaign = campaign_locked(campaign.pk)
    before = campaign.status
    campaign.status = campaign_next_status(campaign.status, action)
    for name, value in extra.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=["status", *extra, "updated_at"])
    live_campaigns_evict(app_id=campaign.app_id)
    audit_record(
        actor=actor,
        action=f"inapp_campaign.{action.value}",
        target=campaign,
        summary=f"In-app campaign {campaign.name!r}: {before} → {campaign.status}",
        details={"app_id": campaign.app_id, "from": before, "to": campaign.status},
    )
    logger.info(
        "In-app campaign %s %s by user %s", campaign.pk, action.value, getattr(actor, "pk", None)
    )
    return campaign


@transaction.atomic
def campaign_approve(*, campaign: InAppCampaign, actor: User | None) -> InAppCampaign:
    """Go live at once (or from the start date): approvers and admins, with the add-on on and
    the message approved."""
    _require(actor, Role.APPROVER, "approve")
    _require_addon()
    locked = campaign_locked(campaign.pk)
    campaign_next_status(locked.status, Action.APPROVE)
    _check_showable(locked.message, locked.ends_at)
    return _act(
        campaign=locked,
        actor=actor,
        action=Action.APPROVE,
        approved_at=timezone.now(),
        approved_by=actor,
    )


@transaction.atomic
def campaign_pause(*, campaign: InAppCampaign, actor: User | None) -> InAppCampaign:
    _require(actor, Role.MARKETER, "pause")
    return _act(campaign=campaign, actor=actor, action=Action.PAUSE)


@transaction.atomic
def campaign_resume(*, campaign: InAppCampaign, actor: User | None) -> InAppCampaign:
    _require(actor, Role.MARKETER, "resume")
    _require_addon()
    return _act(campaign=campaign, actor=actor, action=Action.RESUME)


@transaction.atomic
def campaign_stop(*, campaign: InAppCampaign, actor: User | None) -> InAppCampaign:
    """Stop for good: a stopped campaign cannot be resumed or edited (clone it instead)."""
    _require(actor, Role.MARKETER, "stop")
    return _act(campaign=campaign, actor=actor, action=Action.STOP, stopped_at=timezone.now())
