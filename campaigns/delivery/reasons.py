"""Why a delivery was skipped, in words the UI can show next to the reason code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from devices.eligibility import NOT_ELIGIBLE_REASONS

SKIP_REASONS: dict[str, StrOrPromise] = {
    **NOT_ELIGIBLE_REASONS,
    "addon_disabled": _("the Mobile Push add-on was switched off"),
    "run_cancelled": _("the run was cancelled"),
    "platform_disabled": _("the push is not enabled for this platform"),
    "wrong_app": _("the device belongs to another app"),
    "device_deleted": _("the device was deleted"),
    "lead_changed": _("another lead logged in on the device after the push was planned"),
    "trigger_stale": _("the trigger was evaluated later than the campaign's send window allows"),
    "held_out": _("held out: the lead is in the A/B test's control group, which is sent nothing"),
}


def skip_reason_text(code: str) -> str:
    return str(SKIP_REASONS.get(code, code))
