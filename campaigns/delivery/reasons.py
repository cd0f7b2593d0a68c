"""Why a delivery was skipped, in words the UI can show next to the reason code."""

from __future__ import annotations

from devices.eligibility import NOT_ELIGIBLE_REASONS

SKIP_REASONS: dict[str, str] = {
    **NOT_ELIGIBLE_REASONS,
    "addon_disabled": "the Mobile Push add-on was switched off",
    "run_cancelled": "the run was cancelled",
    "platform_disabled": "the push is not enabled for this platform",
    "wrong_app": "the device belongs to another app",
    "lead_changed": "another lead logged in on the device after the push was planned",
    "trigger_stale": "the trigger was evaluated later than the campaign's send window allows",
    "held_out": "held out: the lead is in the A/B test's control group, which is sent nothing",
}


def skip_reason_text(code: str) -> str:
    return SKIP_REASONS.get(code, code)
