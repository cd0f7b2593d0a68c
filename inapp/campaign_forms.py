"""The in-app campaign editor form: converts the HTML fields into the dict the campaign
services check. Business rules live in the services (inapp.rules); this form converts types
and names each field in its messages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from inapp.models import ACTION_NAME_MAX_LENGTH, InAppCampaign, InAppMessage

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class InAppCampaignForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label=_("Name"),
        error_messages={"required": _("Name: give the campaign a name.")},
    )
    message = forms.ModelChoiceField(
        queryset=InAppMessage.objects.filter(approved_content__isnull=False)
        .select_related("app")
        .order_by("name"),
        label=_("In-app message (approved)"),
        error_messages={
            "required": _("In-app message: pick an approved message."),
            "invalid_choice": _("In-app message: pick an approved message."),
        },
    )
    audience = forms.CharField(widget=forms.HiddenInput, required=False, initial="[]")
    starts_at = forms.DateTimeField(
        required=False,
        label=_("Start (UTC)"),
        help_text=_("Empty: live as soon as the campaign is approved."),
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
        error_messages={"invalid": _("Start: enter a date and time.")},
    )
    ends_at = forms.DateTimeField(
        required=False,
        label=_("End (UTC)"),
        help_text=_("Empty: no end."),
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
        error_messages={"invalid": _("End: enter a date and time.")},
    )
    trigger = forms.ChoiceField(
        choices=InAppCampaign.Trigger.choices,
        initial=InAppCampaign.Trigger.APP_OPEN,
        label=_("Display trigger"),
    )
    trigger_action_name = forms.CharField(
        max_length=ACTION_NAME_MAX_LENGTH,
        required=False,
        label=_("Custom action name"),
        help_text=_("The name the app reports, under 20 characters."),
    )
    display_limit = forms.ChoiceField(
        choices=InAppCampaign.DisplayLimit.choices,
        initial=InAppCampaign.DisplayLimit.ONCE_PER_SESSION,
        label=_("Display limit"),
    )
    priority = forms.IntegerField(
        min_value=1,
        max_value=10,
        initial=5,
        label=_("Priority (1–10)"),
        help_text=_("When several campaigns could show, the highest priority wins."),
        error_messages={
            "min_value": _("Priority: must be between 1 and 10."),
            "max_value": _("Priority: must be between 1 and 10."),
            "required": _("Priority: must be between 1 and 10."),
        },
    )
    frequency_cap_count = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("At most this many in-app messages"),
        error_messages={"min_value": _("Frequency cap: the count must be at least 1.")},
    )
    frequency_cap_hours = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("per this many hours"),
        error_messages={"min_value": _("Frequency cap: the hours must be at least 1.")},
    )

    def __init__(self, *args: Any, app_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if app_id is not None:
            queryset = self.fields["message"].queryset  # type: ignore[attr-defined]
            self.fields["message"].queryset = queryset.filter(app_id=app_id)  # type: ignore[attr-defined]

    def clean_audience(self) -> list[dict[str, Any]]:
        try:
            rows = json.loads(self.cleaned_data.get("audience") or "[]")
        except ValueError:
            raise forms.ValidationError(_("Audience: the filters could not be read.")) from None
        if not isinstance(rows, list):
            raise forms.ValidationError(_("Audience: the filters could not be read."))
        return rows

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("starts_at", "ends_at"):
            value = cleaned.get(name)
            if isinstance(value, dt.datetime):
                # The page says UTC: a naive input is read as UTC whatever the server's zone.
                cleaned[name] = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        if (
            cleaned.get("trigger") == InAppCampaign.Trigger.CUSTOM_ACTION
            and not (cleaned.get("trigger_action_name") or "").strip()
        ):
            self.add_error(
                "trigger_action_name",
                _("Custom action name: required for the custom action trigger."),
            )
        if (cleaned.get("frequency_cap_count") is None) != (
            cleaned.get("frequency_cap_hours") is None
        ):
            self.add_error(
                "frequency_cap_hours",
                _("Frequency cap: give both the count and the hours, or neither."),
            )
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        custom = data["trigger"] == InAppCampaign.Trigger.CUSTOM_ACTION
        return {
            "name": data["name"],
            "message": data["message"].pk,
            "audience": data["audience"],
            "starts_at": data.get("starts_at"),
            "ends_at": data.get("ends_at"),
            "trigger": data["trigger"],
            "trigger_action_name": (data.get("trigger_action_name") or "").strip()
            if custom
            else "",
            "display_limit": data["display_limit"],
            "priority": data["priority"],
            "frequency_cap_count": data.get("frequency_cap_count"),
            "frequency_cap_hours": data.get("frequency_cap_hours"),
        }


def campaign_initial(campaign: InAppCampaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "message": campaign.message_id,
        "audience": json.dumps(campaign.audience or []),
        "starts_at": campaign.starts_at.astimezone(dt.UTC) if campaign.starts_at else None,
        "ends_at": campaign.ends_at.astimezone(dt.UTC) if campaign.ends_at else None,
        "trigger": campaign.trigger,
        "trigger_action_name": campaign.trigger_action_name,
        "display_limit": campaign.display_limit,
        "priority": campaign.priority,
        "frequency_cap_count": campaign.frequency_cap_count,
        "frequency_cap_hours": campaign.frequency_cap_hours,
    }
