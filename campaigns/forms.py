"""The campaign editor form: parses the HTML fields into the dict `campaign_validate` checks.

Business rules live in the services; this form only converts types and maps a service's
RuleError (field, rule) back onto the form field the user has to fix."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignVariant
from campaigns.qualification import RuleError, rule_errors
from campaigns.rules import (
    DEFAULT_SEND_WITHIN_MINUTES,
    MAX_SEND_WITHIN_MINUTES,
    MAX_WAIT_FOR_LEAD_MINUTES,
    TRIGGER_EVENTS,
    trigger_send_within_minutes,
    trigger_wait_for_lead_minutes,
)
from campaigns.scheduling import WEEKDAYS
from campaigns.wording import audience_error_text
from devices.models import MobileApp
from notifications.models import PushNotification

# Where a rule's error shows: the form field holding the setting (a path not listed here
# shows under the field named like its first part, else above the form).
ERROR_FIELDS = {
    "schedule_spec": "schedule_kind",
    "schedule_spec.frequency": "recurring_frequency",
    "schedule_spec.weekday": "recurring_weekday",
    "schedule_spec.time": "schedule_time",
    "schedule_spec.date": "local_date",
    "trigger.event": "trigger_event",
    "trigger.action_name": "trigger_action_name",
    "trigger.action_type": "trigger_action_type",
    "trigger.details": "trigger_details",
    "trigger.notification_id": "trigger_notification",
    "frequency_cap.max": "cap_max",
    "frequency_cap.per": "cap_per",
    "quiet_hours.start": "quiet_start",
    "quiet_hours.end": "quiet_end",
    "trigger": "trigger_event",
    "trigger.send_within_minutes": "trigger_send_within_minutes",
    "trigger.wait_for_lead_minutes": "trigger_wait_for_lead_minutes",
    "frequency_cap": "cap_max",
    "quiet_hours": "quiet_start",
    "qualification_period_hours": "qualification_period",
    "ab_test": "ab_enabled",
    "ab_test.variants": "ab_enabled",
    "ab_test.winner_mode": "ab_winner_mode",
    "ab_test.test_percent": "ab_test_percent",
    "ab_test.wait_minutes": "ab_wait_minutes",
}
AB_ROWS = len(CampaignVariant.LABELS)
CONTROL = "control"


# The weekdays' names as the picker shows them (the stored value stays the English key).
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        (
            _("Monday"),
            _("Tuesday"),
            _("Wednesday"),
            _("Thursday"),
            _("Friday"),
            _("Saturday"),
            _("Sunday"),
        ),
        strict=True,
    )
)


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, label=_("Name"))
    app = forms.ModelChoiceField(queryset=MobileApp.objects.all(), empty_label=None, label=_("App"))
    notification = forms.ModelChoiceField(
        queryset=PushNotification.objects.filter(approved_content__isnull=False),
        label=_("Push notification (approved)"),
        error_messages={"invalid_choice": _("Pick an approved push of this app.")},
    )
    audience = forms.CharField(widget=forms.HiddenInput, required=False, initial="[]")
    schedule_kind = forms.ChoiceField(
        choices=Campaign.ScheduleKind.choices,
        initial=Campaign.ScheduleKind.NOW,
        required=False,
        label=_("Schedule kind"),
    )
    schedule_at = forms.DateTimeField(
        required=False,
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    # The browser's time zone (campaigns.js fills it): the date and time above are read in it.
    schedule_tz = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    recurring_frequency = forms.ChoiceField(
        choices=[("daily", _("Daily")), ("weekly", _("Weekly"))],
        required=False,
        label=_("Recurring frequency"),
    )
    recurring_weekday = forms.ChoiceField(
        choices=list(WEEKDAY_NAMES.items()),
        required=False,
        label=_("Recurring weekday"),
    )
    schedule_time = forms.CharField(
        required=False, label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    local_date = forms.DateField(
        required=False, label=_("Date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    trigger_event = forms.ChoiceField(
        choices=[("", "—"), *TRIGGER_EVENTS.items()], required=False, label=_("When a device")
    )
    trigger_action_name = forms.CharField(required=False, max_length=19, label=_("Action name"))
    trigger_action_type = forms.CharField(required=False, max_length=60, label=_("Action type"))
    trigger_details = forms.CharField(required=False, max_length=255, label=_("Details"))
    trigger_notification = forms.ModelChoiceField(
        queryset=PushNotification.objects.all(),
        required=False,
        label=_("Tapped push (any if empty)"),
    )
    trigger_send_within_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEND_WITHIN_MINUTES,
        initial=DEFAULT_SEND_WITHIN_MINUTES,
        label=_("Send only within (minutes of the activity)"),
        help_text=_(
            "A trigger that cannot go out this soon (a backlog) is skipped, not sent late."
        ),
    )
    trigger_wait_for_lead_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_WAIT_FOR_LEAD_MINUTES,
        label=_("Wait for the login (minutes)"),
        help_text=_(
            "A device nobody has logged in on yet waits up to this long, so the push "
            "reaches whoever logs in. Empty: 10 for a first open, 0 (no wait) otherwise."
        ),
    )
    qualification = forms.ChoiceField(
        choices=Campaign.Qualification.choices,
        initial=Campaign.Qualification.ONCE,
        label=_("Qualification"),
    )
    qualification_period = forms.IntegerField(required=False, min_value=1, label=_("Every"))
    qualification_unit = forms.ChoiceField(
        choices=[("hours", _("hours")), ("days", _("days"))],
        required=False,
        label=_("Qualification unit"),
    )
    throttle_per_minute = forms.IntegerField(
        required=False, min_value=1, label=_("Throttle (messages per minute)")
    )
    cap_max = forms.IntegerField(required=False, min_value=1, label=_("At most"))
    cap_per = forms.ChoiceField(
        choices=[("day", _("per day")), ("week", _("per week"))], required=False, label=_("Cap per")
    )
    quiet_start = forms.CharField(
        required=False, label=_("Quiet from"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.CharField(
        required=False, label=_("Quiet until"), widget=forms.TimeInput(attrs={"type": "time"})
    )

    ab_enabled = forms.BooleanField(required=False, label=_("Run an A/B test"))
    ab_winner_mode = forms.BooleanField(
        required=False,
        label=_("Winner mode"),
        help_text=_(
            "Send the variants to a test share first, then the variant with the best "
            "tap-through rate to the rest."
        ),
    )
    ab_test_percent = forms.IntegerField(
        required=False, label=_("Test share (percent of the audience)"), initial=20
    )
    ab_wait_minutes = forms.IntegerField(
        required=False, label=_("Wait before picking the winner (minutes)"), initial=60
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        # Variant rows A-E: a push (approved; campaigns.js keeps the campaign's app's), a
        # control that sends nothing, or unused; and the share of the audience.
        pushes = PushNotification.objects.filter(approved_content__isnull=False).order_by("name")
        choices = [("", "—"), (CONTROL, _("Control: send nothing"))]
        choices += [(str(p.pk), p.name) for p in pushes.only("pk", "name")]
        for index, label in enumerate(CampaignVariant.LABELS):
            self.fields[f"ab_variant_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=_("Variant %(label)s") % {"label": label}
            )
            self.fields[f"ab_share_{index}"] = forms.IntegerField(
                required=False, label=_("Share of variant %(label)s (%%)") % {"label": label}
            )
        if not self.is_bound:
            # A stored time is UTC; campaigns.js shows it in the browser's zone.
            self.fields["schedule_at"].widget.attrs["data-utc"] = "1"

    def clean_schedule_tz(self) -> str:
        name = self.cleaned_data.get("schedule_tz") or "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Unknown time zone.")) from None
        return name

    def clean_audience(self) -> list[dict[str, Any]]:
        raw = self.cleaned_data.get("audience") or "[]"
        try:
            rows = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(_("The audience filters could not be read.")) from None
        if not isinstance(rows, list):
            raise forms.ValidationError(_("The audience filters could not be read."))
        return rows

    def service_data(self) -> dict[str, Any]:
        """The cleaned fields in the shape the services validate."""
        c = self.cleaned_data
        at = c.get("schedule_at")
        if at is not None:
            # The field made the typed wall-clock time aware in the server's zone (UTC); it
            # was typed in the browser's zone.
            zone = ZoneInfo(c.get("schedule_tz") or "UTC")
            at = at.replace(tzinfo=None).replace(tzinfo=zone).astimezone(dt.UTC)
        kind = c.get("schedule_kind") or Campaign.ScheduleKind.NOW
        spec: dict[str, Any] = {}
        if kind == Campaign.ScheduleKind.RECURRING:
            spec = {
                "frequency": c.get("recurring_frequency"),
                "time": c.get("schedule_time"),
                "weekday": c.get("recurring_weekday"),
            }
        elif kind == Campaign.ScheduleKind.LOCAL_TIME:
            day = c.get("local_date")
            spec = {"date": day.isoformat() if day else None, "time": c.get("schedule_time")}
        period = c.get("qualification_period")
        if period and c.get("qualification_unit") == "days":
            period *= 24
        trigger: dict[str, Any] = {
            "event": c.get("trigger_event"),
            "action_name": c.get("trigger_action_name"),
            "action_type": c.get("trigger_action_type"),
            "details": c.get("trigger_details"),
            "send_within_minutes": c.get("trigger_send_within_minutes")
            or DEFAULT_SEND_WITHIN_MINUTES,
        }
        if c.get("trigger_wait_for_lead_minutes") is not None:
            trigger["wait_for_lead_minutes"] = c["trigger_wait_for_lead_minutes"]
        if c.get("trigger_notification"):
            trigger["notification_id"] = c["trigger_notification"].pk
        cap = {"max": c["cap_max"], "per": c.get("cap_per") or "day"} if c.get("cap_max") else {}
        quiet = (
            {"start": c.get("quiet_start"), "end": c.get("quiet_end")}
            if c.get("quiet_start") or c.get("quiet_end")
            else {}
        )
        return {
            "ab_test": self._ab_test(),
            "name": c.get("name"),
            "notification": c.get("notification"),
            "audience": c.get("audience") or [],
            "schedule_kind": kind,
            "schedule_at": at,
            "schedule_spec": spec,
            "trigger": trigger,
            "qualification": c.get("qualification"),
            "qualification_period_hours": period,
            "throttle_per_minute": c.get("throttle_per_minute"),
            "frequency_cap": cap,
            "quiet_hours": quiet,
        }

    def ab_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """The variant rows for the template: (push field, share field)."""
        return [(self[f"ab_variant_{i}"], self[f"ab_share_{i}"]) for i in range(AB_ROWS)]

    def _ab_used_rows(self) -> list[int]:
        return [i for i in range(AB_ROWS) if self.cleaned_data.get(f"ab_variant_{i}")]

    def _ab_test(self) -> dict[str, Any] | None:
        """The A/B settings in the shape campaigns.abtest.variants validates (None: no test)."""
        c = self.cleaned_data
        if not c.get("ab_enabled"):
            return None
        pushes = PushNotification.objects.in_bulk(
            [
                int(c[f"ab_variant_{i}"])
                for i in self._ab_used_rows()
                if c[f"ab_variant_{i}"] != CONTROL
            ]
        )
        variants = [
            {
                "control": c[f"ab_variant_{i}"] == CONTROL,
                "notification": None
                if c[f"ab_variant_{i}"] == CONTROL
                else pushes.get(int(c[f"ab_variant_{i}"])),
                "share_percent": c.get(f"ab_share_{i}"),
            }
            for i in self._ab_used_rows()
        ]
        return {
            "variants": variants,
            "winner_mode": bool(c.get("ab_winner_mode")),
            "test_percent": c.get("ab_test_percent"),
            "wait_minutes": c.get("ab_wait_minutes"),
        }

    def _ab_error_field(self, field: str) -> str | None:
        """`ab_test.variants[2].share_percent` → the form row that variant came from."""
        if not field.startswith("ab_test.variants["):
            return None
        index = int(field.split("[")[1].split("]")[0])
        rows = self._ab_used_rows()
        row = rows[index] if index < len(rows) else 0
        return f"ab_share_{row}" if field.endswith("share_percent") else f"ab_variant_{row}"

    def add_rule_errors(self, error: RuleError) -> None:
        """Every rule the service refused, each under the field it is about."""
        for each in rule_errors(error):
            self._add_rule_error(each)

    def _add_rule_error(self, error: RuleError) -> None:
        rule = f"{error.rule[0].upper()}{error.rule[1:]}."
        ab_field = self._ab_error_field(error.field)
        if ab_field is not None:
            self.add_error(ab_field, rule)
            return
        if error.field.startswith("audience["):
            self.add_error("audience", audience_error_text(error.field, error.rule))
            return
        head = error.field.split(".")[0].split("[")[0]
        field = ERROR_FIELDS.get(error.field) or ERROR_FIELDS.get(head, head)
        if field in self.fields and (error.field in ERROR_FIELDS or error.field == head):
            self.add_error(field, rule)  # under the setting's own field: its label says which
        else:  # a part the field's label does not name: say which, in words
            label = error.field.replace("_", " ").replace(".", " ")
            self.add_error(field if field in self.fields else None, f"{label}: {error.rule}")

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        # Quiet hours need both ends; the rule's own message ("must be a time") would
        # describe an empty box as a badly written time.
        start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")
        if bool(start) != bool(end):
            empty = "quiet_end" if start else "quiet_start"
            self.add_error(empty, _("Set both times of the quiet hours, or neither."))
        return cleaned


def form_initial(campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings as the editor's initial values."""
    spec, trigger = campaign.schedule_spec or {}, campaign.trigger or {}
    period = campaign.qualification_period_hours
    in_days = bool(period and period % 24 == 0)
    return {
        "name": campaign.name,
        "app": campaign.app_id,
        "notification": campaign.notification_id,
        "audience": json.dumps(campaign.audience or []),
        "schedule_kind": campaign.schedule_kind,
        "schedule_at": campaign.schedule_at,
        "recurring_frequency": spec.get("frequency"),
        "recurring_weekday": spec.get("weekday"),
        "schedule_time": spec.get("time"),
        "local_date": spec.get("date"),
        "trigger_event": trigger.get("event"),
        "trigger_action_name": trigger.get("action_name"),
        "trigger_action_type": trigger.get("action_type"),
        "trigger_details": trigger.get("details"),
        "trigger_notification": trigger.get("notification_id"),
        "trigger_send_within_minutes": trigger_send_within_minutes(trigger),
        "trigger_wait_for_lead_minutes": trigger_wait_for_lead_minutes(trigger),
        "qualification": campaign.qualification,
        "qualification_period": (period // 24 if in_days else period) if period else None,
        "qualification_unit": "days" if in_days else "hours",
        "throttle_per_minute": campaign.throttle_per_minute,
        "cap_max": (campaign.frequency_cap or {}).get("max"),
        "cap_per": (campaign.frequency_cap or {}).get("per"),
        "quiet_start": (campaign.quiet_hours or {}).get("start"),
        "quiet_end": (campaign.quiet_hours or {}).get("end"),
        **_ab_initial(campaign),
    }


def _ab_initial(campaign: Campaign) -> dict[str, Any]:
    variants = list(campaign.variants.all())
    initial: dict[str, Any] = {
        "ab_enabled": bool(variants),
        "ab_winner_mode": campaign.ab_winner_mode,
        "ab_test_percent": campaign.ab_test_percent or 20,
        "ab_wait_minutes": campaign.ab_wait_minutes or 60,
    }
    for index, variant in enumerate(variants):
        initial[f"ab_variant_{index}"] = (
            CONTROL if variant.notification_id is None else str(variant.notification_id)
        )
        initial[f"ab_share_{index}"] = variant.share_percent
    return initial
