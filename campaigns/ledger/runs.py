"""Runs: open one, move it through the state table, settle it when its work is done.

Lock order, everywhere: the campaign row, then the run row, then delivery rows. The services
lock the campaign for every user action; the record path locks both before it writes, so a
pause or a cancel and a batch being recorded never interleave, and the check "is anything
still queued or sending?" that follows a record sees every other batch's committed outcome.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef

from campaigns import enqueue
from campaigns.abtest.variants import variants_freeze
from campaigns.lifecycle import OPEN_RUN_STATUSES, Action, campaign_next_status, run_next_status
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.rules import approved_content

logger = logging.getLogger(__name__)

R = CampaignRun.Status
FINAL_RUN_STATUSES = (R.COMPLETED, R.CANCELLED)
PENDING = (Delivery.Status.QUEUED, Delivery.Status.SENDING)


def run_open(
    *,
    kind: str,
    status: str,
    notification_id: int,
    app_id: int,
    content: dict[str, Any],
    now: datetime,
    campaign_id: int | None = None,
    started_by_id: int | None = None,
    is_stream: bool = False,
    variants: dict[str, Any] | None = None,
    ab_test_percent: int | None = None,
) -> CampaignRun:
    """Create a run in its first status (resolving, sending with rows inserted in the same
    transaction, or listening for a trigger campaign's stream); `variants` are an A/B test's
    frozen arms (campaigns.abtest.variants.variants_freeze)."""
    return CampaignRun.objects.create(
        kind=kind,
        status=status,
        campaign_id=campaign_id,
        notification_id=notification_id,
        app_id=app_id,
        content=content,
        started_by_id=started_by_id,
        is_stream=is_stream,
        started_at=now,
        variants=variants or {},
        ab_test_percent=ab_test_percent,
    )


def campaign_run_open(
    *,
    campaign: Campaign,
    kind: str,
    status: str,
    now: datetime,
    started_by_id: int | None = None,
    is_stream: bool = False,
) -> CampaignRun:
    """run_open for one of a campaign's runs: it sends the push's approved copy as it is now
    (CampaignError when the push is not approved); a batch run also freezes the campaign's
    A/B variants, and in winner mode goes to the test share only."""
    variants = variants_freeze(campaign) if kind == CampaignRun.Kind.BATCH else {}
    return run_open(
        kind=kind,
        status=status,
        campaign_id=campaign.pk,
        notification_id=campaign.notification_id,
        app_id=campaign.app_id,
        content=approved_content(campaign.notification),
        started_by_id=started_by_id,
        is_stream=is_stream,
        now=now,
        variants=variants,
        ab_test_percent=campaign.ab_test_percent if variants and campaign.ab_winner_mode else None,
    )


def run_lock(*, run_id: int, campaign_id: int | None) -> CampaignRun | None:
    """Lock the campaign (if any), then the run, for the rest of the transaction."""
    if campaign_id is not None:
        list(Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).values("pk"))
    return CampaignRun.objects.select_for_update(no_key=True).filter(pk=run_id).first()


_RUN_ROW_SQL = f'SELECT 1 FROM "{CampaignRun._meta.db_table}" WHERE "id" = %s'  # noqa: S608 - the model's table name


def run_row_lock(run_id: int) -> None:
    """Lock the run row alone, for a writer that never takes its campaign's lock (a batch of
    answers recorded mid-chunk), before it touches any delivery row: the counter UPDATE would
    take this lock anyway, but after the rows, against the sweeper's order (run, then rows).

    Hand-written, like the counter UPDATE that follows it: the send path takes this lock for
    every batch of ~50 answers, and compiling the ORM's SELECT … FOR NO KEY UPDATE cost
    more CPU than the statement takes to run."""
    # SQLite has no row locks (a write transaction holds the whole database): a plain read
    # there, as the ORM's select_for_update() compiles to.
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_RUN_ROW_SQL + lock, [run_id])
        cursor.fetchall()


def run_lock_with_campaign(run_id: int) -> CampaignRun | None:
    """run_lock for a caller that knows only the run: its campaign is looked up first."""
    campaign_id = CampaignRun.objects.filter(pk=run_id).values_list("campaign_id", flat=True)
    return run_lock(run_id=run_id, campaign_id=campaign_id.first())


def run_move(run: CampaignRun, action: Action, *, now: datetime) -> None:
    """Apply `action` to a locked run (LifecycleError when the table refuses it)."""
    run.status = run_next_status(run.status, action)
    fields = ["status"]
    if run.status in FINAL_RUN_STATUSES:
        run.finished_at = now
        fields.append("finished_at")
    run.save(update_fields=fields)
    if run.status in FINAL_RUN_STATUSES:
        # The dashboard's final figures (unique leads, sends over time) are computed once
        # the transaction that ended the run commits.
        enqueue.run_report_refresh(run_id=run.pk)


def run_has_pending(run_id: int) -> bool:
    return Delivery.objects.filter(run_id=run_id, status__in=PENDING).exists()


def run_settle(*, run: CampaignRun, now: datetime) -> bool:
    """Complete a locked sending (or paused) run that has nothing queued or sending, and with
    it a one-shot batch campaign whose last run it was. Returns whether the run completed."""
    if run.status not in (R.SENDING, R.PAUSED) or run_has_pending(run.pk):
        return False
    run_move(run, Action.DRAINED, now=now)
    logger.info("ledger: run %s completed", run.pk)
    if run.kind == CampaignRun.Kind.BATCH and run.campaign_id is not None:
        campaign_complete_if_done(campaign_id=run.campaign_id)
    return True


def run_settle_by_id(*, run_id: int, now: datetime) -> bool:
    run = run_lock_with_campaign(run_id)
    return run is not None and run_settle(run=run, now=now)


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """RUNNING → COMPLETED when no batch run of the campaign is open, nothing is scheduled and
    no A/B winner is waiting to be sent (one conditional UPDATE; the caller holds the campaign
    lock)."""
    campaign_next_status(Campaign.Status.RUNNING, Action.COMPLETE)  # the table allows it
    open_runs = CampaignRun.objects.filter(
        campaign_id=OuterRef("pk"), kind=CampaignRun.Kind.BATCH, status__in=OPEN_RUN_STATUSES
    )
    # A winner-mode test whose winner is not picked yet: the rest of the audience is still to
    # be sent, by a run the winner task opens (campaigns.abtest.winner).
    winner_pending = CampaignRun.objects.filter(
        campaign_id=OuterRef("pk"), ab_winner_due_at__isnull=False, ab_winner=""
    )
    done = (
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING, next_run_at=None)
        .filter(~Exists(open_runs), ~Exists(winner_pending))
        .update(status=Campaign.Status.COMPLETED)
    )
    if done:
        logger.info("ledger: campaign %s completed", campaign_id)
    return bool(done)


def campaign_runs_locked(*, campaign_id: int, statuses: tuple[str, ...]) -> list[CampaignRun]:
    """The campaign's runs in `statuses`, locked (the caller holds the campaign lock)."""
    return list(
        CampaignRun.objects.select_for_update(no_key=True)
        .filter(campaign_id=campaign_id, status__in=statuses)
        .order_by("id")
    )


def runs_sending_without_work() -> list[int]:
    """Sending runs with nothing queued or sending: each is settled by the transaction that
    drained it, so this is empty unless that invariant broke (the sweeper reports it)."""
    pending = Delivery.objects.filter(run_id=OuterRef("pk"), status__in=PENDING)
    return list(
        CampaignRun.objects.filter(status=R.SENDING)
        .filter(~Exists(pending))
        .values_list("pk", flat=True)
    )
