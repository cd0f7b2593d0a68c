"""What marketers do to a campaign: send now, schedule, send again, pause, resume, cancel,
activate and deactivate a trigger campaign.

Each action locks the campaign row, asks the state table for the new status (which refuses
with a sentence the UI and API show), changes the runs it concerns through the ledger and
the campaign in the same transaction, audits it, and enqueues work after commit. A run is
opened by the transaction that starts the campaign, so nothing can see a running campaign
without its run, and no read ever has to fix a status up.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from campaigns import enqueue
from campaigns.abtest.winner import campaign_winner_pending, campaign_winners_abandon
from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.ledger.recovery import run_cancel
from campaigns.ledger.runs import campaign_run_open, campaign_runs_locked, run_move, run_settle
from campaigns.lifecycle import (
    OPEN_RUN_STATUSES,
    Action,
    LifecycleError,
    campaign_next_status,
    resume_action,
)
from campaigns.models import Campaign, CampaignRun
from campaigns.rules import CampaignError, approved_content
from campaigns.scheduling import first_run_at, next_run_after
from campaigns.services.listening import trigger_listeners_changed
from pushmarketing.core.addons import ADDON_DISABLED_MESSAGE, mobile_push_enabled
from pushmarketing.core.audit import audit_record

logger = logging.getLogger(__name__)

R = CampaignRun.Status


def campaign_locked(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().select_related("notification").get(pk=campaign_id)


def actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None and actor.is_authenticated else None


def require_addon() -> None:
    if not mobile_push_enabled():
        raise CampaignError("addon", ADDON_DISABLED_MESSAGE)


def _move(campaign: Campaign, action: Action, **fields: object) -> None:
    campaign.status = campaign_next_status(campaign.status, action)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=["status", *fields, "updated_at"])


def _has_open_batch_run(campaign_id: int) -> bool:
    return CampaignRun.objects.filter(
        campaign_id=campaign_id, kind=CampaignRun.Kind.BATCH, status__in=OPEN_RUN_STATUSES
    ).exists()


def batch_run_open(*, campaign: Campaign, started_by_id: int | None, now: datetime) -> CampaignRun:
    """Open a locked batch campaign's next run (`resolving`) and enqueue its resolution."""
    if _has_open_batch_run(campaign.pk):
        # Never two overlapping runs of one campaign (a recurrence due while the last sends).
        raise LifecycleError("status", "the campaign's previous run is still sending")
    # A new run is a new test: a winner the last one still waits for is never sent.
    campaign_winners_abandon(campaign=campaign, why="the campaign was run again")
    run = campaign_run_open(
        campaign=campaign,
        kind=CampaignRun.Kind.BATCH,
        status=R.RESOLVING,
        started_by_id=started_by_id,
        now=now,
    )
    enqueue.run_resolve(run_id=run.pk)
    return run


@transaction.atomic
def campaign_start(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Send a batch campaign now or put it on its schedule; activate a trigger campaign."""
    require_addon()
    campaign = campaign_locked(campaign.pk)
    approved_content(campaign.notification)
    if campaign.kind == Campaign.Kind.TRIGGER:
        return _activate(actor=actor, campaign=campaign)
    now = timezone.now()
    if campaign.schedule_kind == Campaign.ScheduleKind.NOW:
        _move(campaign, Action.START, next_run_at=None)
        run = batch_run_open(campaign=campaign, started_by_id=actor_id(actor), now=now)
        audit_record(
            actor=actor,
            action="campaign.started",
            target=campaign,
            summary=f"Started {campaign}",
            details={"run_id": run.pk},
        )
        return campaign
    _move(campaign, Action.SCHEDULE, next_run_at=first_run_at(campaign, now))
    audit_record(
        actor=actor,
        action="campaign.scheduled",
        target=campaign,
        summary=f"Scheduled {campaign} for {campaign.next_run_at:%Y-%m-%d %H:%M} UTC",
    )
    return campaign


@transaction.atomic
def campaign_send_again(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Run a completed (or cancelled) batch campaign once more, now, to its current audience."""
    require_addon()
    campaign = campaign_locked(campaign.pk)
    if campaign.kind != Campaign.Kind.BATCH:
        raise LifecycleError("kind", "only a batch campaign can be sent again")
    approved_content(campaign.notification)
    _move(campaign, Action.SEND_AGAIN, next_run_at=None)
    run = batch_run_open(campaign=campaign, started_by_id=actor_id(actor), now=timezone.now())
    audit_record(
        actor=actor,
        action="campaign.sent_again",
        target=campaign,
        summary=f"Sent {campaign} again",
        details={"run_id": run.pk},
    )
    return campaign


def campaigns_due_start(*, now: datetime) -> list[int]:
    """Open a run for each due scheduled campaign (the beat calls this every 30 s); returns
    the campaigns started. Each is claimed under its row lock, so two schedulers never start
    one campaign twice: the loser finds it no longer due."""
    due = Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, kind=Campaign.Kind.BATCH, next_run_at__lte=now
    ).values_list("pk", flat=True)
    return [campaign_id for campaign_id in due if _due_start(campaign_id=campaign_id, now=now)]


@transaction.atomic
def _due_start(*, campaign_id: int, now: datetime) -> bool:
    campaign = (
        Campaign.objects.select_for_update(skip_locked=True)
        .select_related("notification")
        .filter(pk=campaign_id, status=Campaign.Status.SCHEDULED, next_run_at__lte=now)
        .first()
    )
    if campaign is None:
        return False
    recurring = campaign.schedule_kind == Campaign.ScheduleKind.RECURRING
    following = next_run_after(campaign, now) if recurring else None
    if _has_open_batch_run(campaign.pk):
        # A recurrence due while the last run still sends: this occurrence is skipped.
        logger.warning("campaigns: campaign %s due while its last run sends; skipped", campaign_id)
        if following is not None:
            _move(campaign, Action.RECUR, next_run_at=following)
        return False
    _move(campaign, Action.RECUR if following else Action.RUN_DUE, next_run_at=following)
    batch_run_open(campaign=campaign, started_by_id=None, now=now)
    return True


@transaction.atomic
def campaign_pause(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Stop sending: sending and listening runs become `paused`; the engine hands back rows it
    claims from a paused run unsent, and a scheduled campaign is not picked up by the
    scheduler. A run still resolving is paused by its resolution."""
    campaign = campaign_locked(campaign.pk)
    _move(campaign, Action.PAUSE)
    now = timezone.now()
    for run in campaign_runs_locked(campaign_id=campaign.pk, statuses=(R.SENDING, R.LISTENING)):
        run_move(run, Action.PAUSE, now=now)
    audit_record(
        actor=actor, action="campaign.paused", target=campaign, summary=f"Paused {campaign}"
    )
    trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, actor: User | None, campaign: Campaign) -> Campaign:
    require_addon()
    campaign = campaign_locked(campaign.pk)
    runs = campaign_runs_locked(campaign_id=campaign.pk, statuses=(R.PAUSED, R.RESOLVING))
    # An A/B winner still to be sent is work the campaign has left, like an open run.
    action = resume_action(
        kind=campaign.kind,
        has_open_run=bool(runs) or campaign_winner_pending(campaign_id=campaign.pk),
        next_run_at=campaign.next_run_at,
    )
    _move(campaign, action)
    now = timezone.now()
    for run in runs:
        if run.status == R.PAUSED:
            _run_resume(run, action=Action.RESUME_LISTENING if run.is_stream else Action.RESUME)
            run_settle(run=run, now=now)
    audit_record(
        actor=actor, action="campaign.resumed", target=campaign, summary=f"Resumed {campaign}"
    )
    trigger_listeners_changed(campaign)
    return campaign


def _run_resume(run: CampaignRun, *, action: Action) -> None:
    run_move(run, action, now=timezone.now())
    deliveries_dispatch(run=run)


@transaction.atomic
def campaign_cancel(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Queued rows become `skipped: cancelled`; rows already claimed by a worker finish."""
    campaign = campaign_locked(campaign.pk)
    _move(campaign, Action.CANCEL, next_run_at=None)
    campaign_winners_abandon(campaign=campaign, why="the campaign was cancelled")
    now = timezone.now()
    cancelled = sum(
        run_cancel(run=run, now=now)
        for run in campaign_runs_locked(campaign_id=campaign.pk, statuses=OPEN_RUN_STATUSES)
    )
    audit_record(
        actor=actor,
        action="campaign.cancelled",
        target=campaign,
        summary=f"Cancelled {campaign}",
        details={"deliveries_cancelled": cancelled},
    )
    trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_activate(*, actor: User | None, campaign: Campaign) -> Campaign:
    campaign = campaign_locked(campaign.pk)
    approved_content(campaign.notification)
    return _activate(actor=actor, campaign=campaign)


def _activate(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Open the trigger campaign's stream run (listening) and start listening."""
    if campaign.kind != Campaign.Kind.TRIGGER:
        raise LifecycleError("kind", "only a trigger campaign can be activated")
    _move(campaign, Action.ACTIVATE)
    campaign_run_open(
        campaign=campaign,
        kind=CampaignRun.Kind.TRIGGER,
        status=R.LISTENING,
        started_by_id=actor_id(actor),
        now=timezone.now(),
        is_stream=True,
    )
    audit_record(
        actor=actor, action="campaign.activated", target=campaign, summary=f"Activated {campaign}"
    )
    trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_deactivate(*, actor: User | None, campaign: Campaign) -> Campaign:
    """Stop listening. Deliveries already queued still go out (the stream run sends what it
    holds, then completes); the next activation opens a new stream, so it reflects the push as
    approved then."""
    campaign = campaign_locked(campaign.pk)
    if campaign.kind != Campaign.Kind.TRIGGER:
        raise LifecycleError("kind", "only a trigger campaign can be deactivated")
    _move(campaign, Action.DEACTIVATE)
    now = timezone.now()
    for run in campaign_runs_locked(campaign_id=campaign.pk, statuses=(R.LISTENING, R.PAUSED)):
        stops = run.is_stream and run.status in (R.LISTENING, R.PAUSED)
        _run_resume(run, action=Action.STOP_LISTENING if stops else Action.RESUME)
        run_settle(run=run, now=now)
    audit_record(
        actor=actor,
        action="campaign.deactivated",
        target=campaign,
        summary=f"Deactivated {campaign}",
    )
    trigger_listeners_changed(campaign)
    return campaign
