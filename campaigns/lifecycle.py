"""The one state table of campaigns and their runs: `(status, action) → status`.

Every status change of a Campaign or a CampaignRun is looked up here, in the transaction that
writes the rows it concerns (the services lock the campaign row; the ledger locks the run
row). An action the table does not list for the current status raises `LifecycleError`, whose
rule is the sentence the UI flashes and the API returns.

Where one user action can end in different states (resuming a paused campaign), the service
picks the action variant from the facts (`resume_action`), and the table still decides.
"""

from __future__ import annotations

from enum import StrEnum

from campaigns.models import Campaign, CampaignRun
from campaigns.rules import CampaignError

C = Campaign.Status
R = CampaignRun.Status


class Action(StrEnum):
    # Campaign actions (a user's, the scheduler's or the engine's).
    EDIT = "edit"
    START = "start"  # batch campaign, send now
    SCHEDULE = "schedule"  # batch campaign with a schedule
    SEND_AGAIN = "send_again"
    RUN_DUE = "run_due"  # the scheduler opens the last scheduled run
    RECUR = "recur"  # the scheduler opens one run of a recurring schedule
    ACTIVATE = "activate"  # trigger campaign starts listening
    DEACTIVATE = "deactivate"
    PAUSE = "pause"
    RESUME = "resume"  # back to sending its open run
    RESUME_SCHEDULE = "resume_schedule"
    RESUME_LISTENING = "resume_listening"
    RESUME_FINISHED = "resume_finished"  # its run ended while paused
    CANCEL = "cancel"
    API_SEND = "api_send"
    COMPLETE = "complete"  # the engine: the last run of a one-shot campaign ended
    # Run actions.
    RESOLVED = "resolved"
    RESOLVED_PAUSED = "resolved_paused"
    DRAINED = "drained"  # nothing queued or sending is left
    STOP_LISTENING = "stop_listening"


CAMPAIGN_TRANSITIONS: dict[tuple[str, str], str] = {
    (C.DRAFT, Action.EDIT): C.DRAFT,
    (C.SCHEDULED, Action.EDIT): C.SCHEDULED,
    (C.PAUSED, Action.EDIT): C.PAUSED,
    (C.DRAFT, Action.START): C.RUNNING,
    (C.DRAFT, Action.SCHEDULE): C.SCHEDULED,
    (C.COMPLETED, Action.SEND_AGAIN): C.RUNNING,
    (C.CANCELLED, Action.SEND_AGAIN): C.RUNNING,
    (C.SCHEDULED, Action.RUN_DUE): C.RUNNING,
    (C.SCHEDULED, Action.RECUR): C.SCHEDULED,
    (C.DRAFT, Action.ACTIVATE): C.ACTIVE,
    (C.ACTIVE, Action.DEACTIVATE): C.DRAFT,
    (C.PAUSED, Action.DEACTIVATE): C.DRAFT,
    (C.RUNNING, Action.PAUSE): C.PAUSED,
    (C.SCHEDULED, Action.PAUSE): C.PAUSED,
    (C.ACTIVE, Action.PAUSE): C.PAUSED,
    (C.PAUSED, Action.RESUME): C.RUNNING,
    (C.PAUSED, Action.RESUME_SCHEDULE): C.SCHEDULED,
    (C.PAUSED, Action.RESUME_LISTENING): C.ACTIVE,
    (C.PAUSED, Action.RESUME_FINISHED): C.COMPLETED,
    (C.DRAFT, Action.CANCEL): C.CANCELLED,
    (C.SCHEDULED, Action.CANCEL): C.CANCELLED,
    (C.RUNNING, Action.CANCEL): C.CANCELLED,
    (C.ACTIVE, Action.CANCEL): C.CANCELLED,
    (C.PAUSED, Action.CANCEL): C.CANCELLED,
    (C.RUNNING, Action.COMPLETE): C.COMPLETED,
    # API sends name their recipients; they do not change the campaign's own status.
    (C.RUNNING, Action.API_SEND): C.RUNNING,
    (C.SCHEDULED, Action.API_SEND): C.SCHEDULED,
    (C.ACTIVE, Action.API_SEND): C.ACTIVE,
    (C.COMPLETED, Action.API_SEND): C.COMPLETED,
}

RUN_TRANSITIONS: dict[tuple[str, str], str] = {
    (R.RESOLVING, Action.RESOLVED): R.SENDING,
    (R.RESOLVING, Action.RESOLVED_PAUSED): R.PAUSED,
    (R.SENDING, Action.PAUSE): R.PAUSED,
    (R.LISTENING, Action.PAUSE): R.PAUSED,
    (R.PAUSED, Action.RESUME): R.SENDING,
    (R.PAUSED, Action.RESUME_LISTENING): R.LISTENING,
    (R.SENDING, Action.DRAINED): R.COMPLETED,
    (R.PAUSED, Action.DRAINED): R.COMPLETED,
    (R.LISTENING, Action.STOP_LISTENING): R.SENDING,
    (R.PAUSED, Action.STOP_LISTENING): R.SENDING,
    (R.RESOLVING, Action.CANCEL): R.CANCELLED,
    (R.SENDING, Action.CANCEL): R.CANCELLED,
    (R.LISTENING, Action.CANCEL): R.CANCELLED,
    (R.PAUSED, Action.CANCEL): R.CANCELLED,
}

# Runs that still own work (or, listening, may get more).
OPEN_RUN_STATUSES = (R.RESOLVING, R.SENDING, R.LISTENING, R.PAUSED)

_VERBS: dict[str, str] = {
    Action.EDIT: "edited",
    Action.START: "started",
    Action.SCHEDULE: "scheduled",
    Action.SEND_AGAIN: "sent again",
    Action.RUN_DUE: "run",
    Action.RECUR: "run",
    Action.ACTIVATE: "activated",
    Action.DEACTIVATE: "deactivated",
    Action.PAUSE: "paused",
    Action.CANCEL: "cancelled",
    Action.API_SEND: "triggered",
    Action.COMPLETE: "completed",
}

# What the user can do instead, per status: the second half of a refusal.
_INSTEAD: dict[str, str] = {
    C.DRAFT: "start or edit it",
    C.SCHEDULED: "pause or cancel it",
    C.RUNNING: "pause or cancel it",
    C.ACTIVE: "pause or deactivate it",
    C.PAUSED: "resume or cancel it",
    C.COMPLETED: "send it again",
    C.CANCELLED: "send it again",
}


class LifecycleError(CampaignError):
    """An action the state table refuses for the current status."""


_LABELS: dict[str, str] = {
    C.DRAFT: "a draft",
    C.SCHEDULED: "a scheduled",
    C.RUNNING: "a running",
    C.ACTIVE: "an active",
    C.PAUSED: "a paused",
    C.COMPLETED: "a completed",
    C.CANCELLED: "a cancelled",
    R.RESOLVING: "a resolving",
    R.SENDING: "a sending",
    R.LISTENING: "a listening",
}


def _verb(action: str) -> str:
    if action.startswith("resume"):
        return "resumed"
    return _VERBS.get(action, action.replace("_", " "))


def campaign_next_status(status: str, action: str) -> str:
    """The status `action` leads to from `status`; LifecycleError when the table refuses."""
    try:
        return CAMPAIGN_TRANSITIONS[(status, action)]
    except KeyError:
        raise LifecycleError(
            "status", f"{_LABELS[status]} campaign cannot be {_verb(action)}; {_INSTEAD[status]}"
        ) from None


def run_next_status(status: str, action: str) -> str:
    try:
        return RUN_TRANSITIONS[(status, action)]
    except KeyError:
        raise LifecycleError("status", f"{_LABELS[status]} run cannot be {_verb(action)}") from None


def campaign_may(status: str, action: str) -> bool:
    """For templates and serializers: is `action` offered in `status`?"""
    return (status, action) in CAMPAIGN_TRANSITIONS


def resume_action(*, kind: str, has_open_run: bool, next_run_at: object) -> Action:
    """Which resume a paused campaign gets, from the facts the service read under lock."""
    if kind == Campaign.Kind.TRIGGER:
        return Action.RESUME_LISTENING
    if next_run_at is not None:
        # A recurring campaign paused mid-run: the run resumes sending, the schedule goes on.
        return Action.RESUME_SCHEDULE
    if has_open_run:
        return Action.RESUME
    return Action.RESUME_FINISHED
