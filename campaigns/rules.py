"""Campaign rules that the forms, the API serializers and the services share: what a valid
campaign is, and the limits. Pure: no writes, and reads only to check references."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from campaigns.audience import audience_validate
from campaigns.models import Campaign
from campaigns.qualification import (
    RuleChecks,
    RuleError,
    validate_frequency_cap,
    validate_quiet_hours,
)
from campaigns.scheduling import validate_schedule
from devices.models import DeviceActivity, MobileApp
from notifications.models import PushNotification

MAX_API_LEADS = 1000

TRIGGER_EVENTS: dict[str, StrOrPromise] = {
    DeviceActivity.Kind.INSTALLED: _("Mobile app is installed (first open)"),
    DeviceActivity.Kind.OPENED: _("Mobile app is opened"),
    DeviceActivity.Kind.CUSTOM_ACTION: _("Has mobile app activity"),
    DeviceActivity.Kind.SESSION: _("Has mobile app session"),
    DeviceActivity.Kind.PUSH_TAPPED: _("Taps push notification"),
    DeviceActivity.Kind.PUSH_REGISTERED: _("Registers for push"),
}
ACTIVITY_CONSTRAINTS = ("action_name", "action_type", "details")


# "Send only if within N minutes of the activity": a trigger the pipeline could not evaluate in
# time is skipped (reason trigger_stale) rather than arriving stale. A week at most.
DEFAULT_SEND_WITHIN_MINUTES = 60
MAX_SEND_WITHIN_MINUTES = 7 * 24 * 60


# "Wait up to N minutes for the lead": an app's first open comes before its login, so a
# first-open trigger waits for the device to become targetable (default on for first open).
DEFAULT_WAIT_FOR_LEAD_MINUTES = {DeviceActivity.Kind.INSTALLED: 10}
MAX_WAIT_FOR_LEAD_MINUTES = 24 * 60


def trigger_wait_for_lead_minutes(trigger: dict[str, Any]) -> int:
    """How long the campaign waits for an anonymous device's lead (0: it does not)."""
    value = trigger.get("wait_for_lead_minutes")
    if value is None:
        return DEFAULT_WAIT_FOR_LEAD_MINUTES.get(trigger.get("event", ""), 0)
    return int(value)


def trigger_send_within_minutes(trigger: dict[str, Any]) -> int:
    """The campaign's send window (campaigns saved before the setting existed: the default)."""
    return int(trigger.get("send_within_minutes") or DEFAULT_SEND_WITHIN_MINUTES)


def validate_trigger(trigger: Any) -> dict[str, Any]:
    if not isinstance(trigger, dict) or not trigger.get("event"):
        raise RuleError("trigger.event", "is required")
    event = trigger["event"]
    if event not in TRIGGER_EVENTS:
        raise RuleError("trigger.event", f"must be one of: {', '.join(TRIGGER_EVENTS)}")
    out: dict[str, Any] = {"event": event}
    if event == DeviceActivity.Kind.CUSTOM_ACTION:
        for key in ACTIVITY_CONSTRAINTS:
            value = trigger.get(key) or ""
            limit = 19 if key == "action_name" else 255
            if not isinstance(value, str) or len(value) > limit:
                raise RuleError(f"trigger.{key}", f"must be text up to {limit} characters")
            if value.strip():
                out[key] = value.strip()
    within = trigger.get("send_within_minutes", DEFAULT_SEND_WITHIN_MINUTES)
    if (
        isinstance(within, bool)
        or not isinstance(within, int)
        or not 1 <= within <= MAX_SEND_WITHIN_MINUTES
    ):
        raise RuleError(
            "trigger.send_within_minutes",
            f"must be a whole number of minutes from 1 to {MAX_SEND_WITHIN_MINUTES}",
        )
    out["send_within_minutes"] = within
    wait = trigger.get("wait_for_lead_minutes")
    if wait is None:
        wait = DEFAULT_WAIT_FOR_LEAD_MINUTES.get(event, 0)
    if (
        isinstance(wait, bool)
        or not isinstance(wait, int)
        or not 0 <= wait <= min(MAX_WAIT_FOR_LEAD_MINUTES, within)
    ):
        raise RuleError(
            "trigger.wait_for_lead_minutes",
            "must be a whole number of minutes from 0 to "
            f"{min(MAX_WAIT_FOR_LEAD_MINUTES, within)} (no longer than the send window)",
        )
    out["wait_for_lead_minutes"] = wait
    if event == DeviceActivity.Kind.PUSH_TAPPED and trigger.get("notification_id") not in (
        None,
        "",
    ):
        value = trigger["notification_id"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError("trigger.notification_id", "must be a push id")
        out["notification_id"] = value
    return out


class CampaignError(RuleError):
    """A request that breaks a rule: `field` and `rule` say which and why."""


def approved_content(notification: PushNotification) -> dict[str, Any]:
    """The frozen approved copy a run sends; CampaignError when the push is not approved."""
    if not notification.approved_content:
        raise CampaignError("notification", "must be an approved push")
    return dict(notification.approved_content)


def _int_or_none(value: Any, field: str, *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CampaignError(field, f"must be a whole number from {low} to {high}")
    return value


def _name(data: dict[str, Any]) -> str:
    name = (data.get("name") or "").strip()
    if not name:
        raise CampaignError("name", "is required")
    if len(name) > 120:
        raise CampaignError("name", "must be at most 120 characters")
    return name


def _notification(data: dict[str, Any], *, app: MobileApp) -> PushNotification:
    notification = data.get("notification")
    if not isinstance(notification, PushNotification):
        raise CampaignError("notification", "is required")
    if notification.app_id != app.pk:
        raise CampaignError("notification", "must belong to the campaign's app")
    if not notification.approved_content:
        raise CampaignError("notification", "must be an approved push")
    return notification


def _qualification(data: dict[str, Any]) -> tuple[str, int | None]:
    qualification = data.get("qualification") or Campaign.Qualification.ONCE
    if qualification not in Campaign.Qualification.values:
        raise CampaignError("qualification", "must be once, every_time or once_per")
    period = _int_or_none(
        data.get("qualification_period_hours"), "qualification_period_hours", low=1, high=8760
    )
    if qualification == Campaign.Qualification.ONCE_PER and period is None:
        raise CampaignError("qualification_period_hours", "is required for once per period")
    return qualification, period if qualification == Campaign.Qualification.ONCE_PER else None


def _trigger(data: dict[str, Any], *, app: MobileApp) -> dict[str, Any]:
    trigger = validate_trigger(data.get("trigger"))
    tapped = trigger.get("notification_id")
    if tapped and not PushNotification.objects.filter(pk=tapped, app_id=app.pk).exists():
        raise CampaignError("trigger.notification_id", "must be a push of the campaign's app")
    return trigger


def campaign_validate(
    data: dict[str, Any], *, app: MobileApp, kind: str, now: dt.datetime
) -> dict[str, Any]:
    """Check every campaign setting; return the model fields. Every broken rule is reported
    (RuleErrors, in the settings' order), so an editor fixes them in one go."""
    checks = RuleChecks()
    name = checks.check(_name, data)
    notification = checks.check(_notification, data, app=app)
    qualification, period = checks.check(_qualification, data) or (None, None)
    fields: dict[str, Any] = {
        "name": name,
        "notification": notification,
        "audience": checks.check(audience_validate, data.get("audience") or []),
        "qualification": qualification,
        "qualification_period_hours": period,
        "throttle_per_minute": checks.check(
            _int_or_none,
            data.get("throttle_per_minute"),
            "throttle_per_minute",
            low=1,
            high=1_000_000,
        ),
        "frequency_cap": checks.check(validate_frequency_cap, data.get("frequency_cap")),
        "quiet_hours": checks.check(validate_quiet_hours, data.get("quiet_hours")),
    }
    if kind == Campaign.Kind.TRIGGER:
        fields["trigger"] = checks.check(_trigger, data, app=app)
        fields.update(schedule_kind=Campaign.ScheduleKind.NOW, schedule_at=None, schedule_spec={})
    else:
        schedule_kind = data.get("schedule_kind") or Campaign.ScheduleKind.NOW
        fields["schedule_spec"] = checks.check(
            validate_schedule,
            schedule_kind,
            data.get("schedule_at"),
            data.get("schedule_spec"),
            now=now,
        )
        fields["schedule_kind"] = schedule_kind
        fields["schedule_at"] = (
            data.get("schedule_at") if schedule_kind == Campaign.ScheduleKind.AT else None
        )
        fields["trigger"] = {}
    checks.raise_any()
    return fields
