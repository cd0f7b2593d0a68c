"""Writes for push notifications: create, update, approve, clone, delete, and their history.

Every write records a NotificationEvent (shown on the push's page) in the same transaction,
and the audit log for approvals and deletions."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from devices.models import MobileApp
from notifications.content import COLUMN_FIELDS, PushContent
from notifications.images import image_absolute_url
from notifications.models import NotificationEvent, PushNotification
from notifications.personalization import TokenError, compile_template
from notifications.previews import payload_sizes
from notifications.selectors import lead_token_field_names, notification_campaign_names
from pushmarketing.core.audit import audit_record
from pushmarketing.core.roles import Role, user_has_role

logger = logging.getLogger(__name__)

# The working-copy columns a marketer edits (besides name and app); image is the file name.
EDITABLE_FIELDS = ("app", "name", "image", *COLUMN_FIELDS)


class NotificationInUse(Exception):
    """Deleting a push a campaign uses; `campaign_names` says which."""

    def __init__(self, campaign_names: list[str]) -> None:
        self.campaign_names = campaign_names
        super().__init__(
            "This push is used by " + ", ".join(campaign_names) + " and cannot be deleted."
        )


def notification_working_content(notification: PushNotification) -> PushContent:
    """The working copy (what the composer shows) as PushContent, image as absolute URL."""
    data: dict[str, Any] = {name: getattr(notification, name) for name in COLUMN_FIELDS}
    data["custom_data"] = dict(notification.custom_data or {})
    data["image_url"] = image_absolute_url(notification.image.name or "")
    return PushContent(**data)


def notification_content_problems(content: PushContent) -> dict[str, list[str]]:
    """What would stop this content being sent: token errors and oversize payloads."""
    problems: dict[str, list[str]] = {}
    if not content.android_enabled and not content.ios_enabled:
        problems.setdefault("__all__", []).append("Enable Android, iOS or both.")
    if not content.message.strip():
        problems.setdefault("message", []).append("The message is required.")
    known = lead_token_field_names()
    for form_field in ("title", "subtitle", "message", "tap_uri"):
        try:
            compile_template(getattr(content, form_field), known_fields=known)
        except TokenError as exc:
            problems.setdefault(form_field, []).append(str(exc))
    size_problems = payload_sizes(content).problems()
    if size_problems:
        problems.setdefault("__all__", []).extend(size_problems)
    return problems


def notification_event_record(
    *,
    notification: PushNotification,
    actor: User | None,
    action: str,
    details: dict[str, Any] | None = None,
) -> NotificationEvent:
    return NotificationEvent.objects.create(
        notification=notification, actor=actor, action=action, details=details or {}
    )


def _apply(notification: PushNotification, fields: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} is not an editable field")
        if name == "app":
            if notification.app_id != value.pk:
                if notification.approved_content is not None:
                    raise ValidationError(
                        {"app": ["An approved push stays with its app; clone it instead."]}
                    )
                notification.app = value
                changed.append(name)
            continue
        current = getattr(notification, name)
        if name == "image":
            current = current.name if current else ""
            value = value or ""
        if current != value:
            setattr(notification, name, value)
            changed.append(name)
    return changed


def _check_content(notification: PushNotification) -> None:
    problems = notification_content_problems(notification_working_content(notification))
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def notification_create(
    *, app: MobileApp, actor: User | None, fields: dict[str, Any]
) -> PushNotification:
    notification = PushNotification(app=app, created_by=actor, updated_by=actor)
    _apply(notification, fields)
    if not notification.name:
        notification.name = "Untitled push"
    _check_content(notification)
    notification.save()
    notification_event_record(notification=notification, actor=actor, action="created")
    logger.info("Push %s created by user %s", notification.pk, getattr(actor, "pk", None))
    return notification


@transaction.atomic
def notification_update(
    *, notification: PushNotification, actor: User | None, fields: dict[str, Any]
) -> PushNotification:
    """Change the working copy. An approved push keeps sending its approved copy and shows
    'approved with draft changes' until approved again; editing it back to exactly the
    approved content makes it plain approved again."""
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    changed = _apply(notification, fields)
    if not changed:
        return notification
    _check_content(notification)
    if notification.approved_content is not None:
        same = notification_working_content(notification).to_dict() == notification.approved_content
        notification.status = (
            PushNotification.Status.APPROVED
            if same
            else PushNotification.Status.APPROVED_WITH_DRAFT
        )
    notification.updated_by = actor
    notification.save()
    notification_event_record(
        notification=notification, actor=actor, action="edited", details={"fields": changed}
    )
    return notification


@transaction.atomic
def notification_approve(*, notification: PushNotification, actor: User | None) -> PushNotification:
    """Freeze the working copy into approved_content. Approvers and admins only."""
    if not user_has_role(actor, Role.APPROVER):
        raise PermissionDenied("Only approvers and admins can approve a push.")
    notification = PushNotification.objects.select_for_update().get(pk=notification.pk)
    content = notification_working_content(notification)
    problems = notification_content_problems(content)
    if problems:
        raise ValidationError(problems)
    notification.approved_content = content.to_dict()
    notification.approved_at = timezone.now()
    notification.approved_by = actor
    notification.status = PushNotification.Status.APPROVED
    notification.save(update_fields=["approved_content", "approved_at", "approved_by", "status"])
    notification_event_record(notification=notification, actor=actor, action="approved")
    logger.info("Push %s approved by user %s", notification.pk, getattr(actor, "pk", None))
    audit_record(
        actor=actor,
        action="notification.approved",
        target=notification,
        summary=f"Approved push {notification.name!r}",
        details={"app_id": notification.app_id},
    )
    return notification


@transaction.atomic
def notification_clone(*, notification: PushNotification, actor: User | None) -> PushNotification:
    """A new draft with the same working copy, named 'Copy of …'. The image file is shared:
    stored images are never modified, only replaced."""
    copy = PushNotification(app=notification.app, created_by=actor, updated_by=actor)
    for name in EDITABLE_FIELDS:
        if name == "app":
            continue
        setattr(copy, name, getattr(notification, name))
    copy.custom_data = dict(notification.custom_data or {})
    copy.name = f"Copy of {notification.name}"[:120]
    copy.status = PushNotification.Status.DRAFT
    copy.save()
    notification_event_record(
        notification=copy, actor=actor, action="cloned", details={"from_id": notification.pk}
    )
    notification_event_record(
        notification=notification, actor=actor, action="copied", details={"to_id": copy.pk}
    )
    return copy


def notification_delete(*, notification: PushNotification, actor: User | None) -> None:
    """Delete an unused push; refuse (and record the refusal) when a campaign uses it."""
    with transaction.atomic():
        names = notification_campaign_names(notification=notification)
        if names:
            notification_event_record(
                notification=notification,
                actor=actor,
                action="delete_refused",
                details={"campaigns": names},
            )
        else:
            audit_record(
                actor=actor,
                action="notification.deleted",
                target=notification,
                summary=f"Deleted push {notification.name!r}",
                details={"app_id": notification.app_id},
            )
            notification.delete()
            return
    raise NotificationInUse(names)
