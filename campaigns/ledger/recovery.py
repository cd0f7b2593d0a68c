"""Rows a dead worker left `sending`, a cancelled run's queued rows, a deleted run's rows.

Each function works on one run whose campaign and run rows the caller has locked, counts what
it changed through the counter table and settles the run, so counters stay equal to rows;
except a deleted run's rows, which have no run left to lock, count or settle.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import F

from campaigns.ledger.counters import PLATFORMS, run_counters_add
from campaigns.ledger.runs import run_move, run_settle
from campaigns.lifecycle import Action
from campaigns.models import CampaignRun, Delivery

logger = logging.getLogger(__name__)

S = Delivery.Status
SWEPT_REASON = "worker stopped mid-send"


def deliveries_requeue_stuck(
    *, run: CampaignRun, ids: list[int], cutoff: datetime, now: datetime
) -> tuple[list[int], int]:
    """Stuck rows of a locked run go back to `queued` with one attempt spent, or `failed` once
    out of attempts (a row that kills its worker every time must not loop). Returns the ids
    requeued (to dispatch again) and the number failed.

    Under the run lock no record can move these rows; only a claim writes without it, and a
    claim touches `queued` rows only, so the ids read here are the ids updated."""
    stuck = Delivery.objects.filter(
        run_id=run.pk, id__in=ids, status=S.SENDING, claimed_at__lt=cutoff
    )
    last_try = stuck.filter(attempts__gte=settings.PUSH_MAX_ATTEMPTS - 1)
    # One UPDATE per platform: the row counts they return are what the counters add.
    failed_by_platform: dict[tuple[str, str], int] = {
        (S.FAILED, platform): last_try.filter(platform=platform).update(
            status=S.FAILED,
            attempts=F("attempts") + 1,
            reason=f"gave up after {settings.PUSH_MAX_ATTEMPTS} attempts: {SWEPT_REASON}",
        )
        for platform in PLATFORMS
    }
    run_counters_add(run_id=run.pk, counts=failed_by_platform)
    requeued = list(stuck.values_list("id", flat=True))
    Delivery.objects.filter(id__in=requeued).update(
        status=S.QUEUED,
        claimed_at=None,
        not_before=None,
        attempts=F("attempts") + 1,
        reason=f"requeued: {SWEPT_REASON}",
    )
    run_settle(run=run, now=now)
    return requeued, sum(failed_by_platform.values())


def run_cancel(*, run: CampaignRun, now: datetime) -> int:
    """Cancel a locked open run: its queued rows become `skipped: cancelled` (rows a worker
    already claimed finish and are counted as they are recorded)."""
    queued = Delivery.objects.filter(run_id=run.pk, status=S.QUEUED)
    skipped: dict[tuple[str, str], int] = {
        (S.SKIPPED, platform): queued.filter(platform=platform).update(
            status=S.SKIPPED, reason="cancelled"
        )
        for platform in PLATFORMS
    }
    run_counters_add(run_id=run.pk, counts=skipped)
    run_move(run, Action.CANCEL, now=now)
    return sum(skipped.values())


def deleted_run_deliveries_drop(*, run_id: int) -> int:
    """Delete the rows of a run that no longer exists: nothing is sent for them and no run
    counts them. Runs go only with their campaign (nothing in the product deletes one; a
    shell can), and the delivery table has no database FK (campaigns.models.Delivery), so a
    trigger fire can add rows to a run as its campaign is deleted."""
    dropped, _ = Delivery.objects.filter(run_id=run_id).delete()
    if dropped:
        logger.warning("ledger: %s deliveries of deleted run %s dropped", dropped, run_id)
    return dropped
