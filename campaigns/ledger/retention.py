"""Retention: a finished run's delivery rows are deleted DELIVERY_RETENTION_DAYS after the run
ended, in short batches, once its counters and RunReport hold the figures.

"Old" is measured from the run's end (`finished_at`), not from each row's `created_at`, so a
run is purged whole: every row of a finished run was created before it ended, and a run half
purged by row age would have an export missing its first rows and a report that a later
refresh (taps on its newer rows) would recompute from the rest, going backwards.

A run is purged when it is:
- completed or cancelled. A trigger stream that is listening (or paused) keeps its rows: its
  report is recomputed from them on every refresh while it listens, so deleting its old rows
  would make unique leads, reasons and the charts go backwards. They go once the stream ends
  (the campaign is deactivated). Its counters are never touched, here or anywhere.
- reported: its RunReport was computed after it ended and is not behind the taps (the service
  refreshes a missing or stale report first). From the mark on, the report is frozen.
- not read by its campaign's qualification rule: "once" asks whether a lead was ever sent the
  campaign, "once per N hours" looks N hours back; deleting rows those rules still read would
  send the campaign again to leads who already had it.

How: `run_purge_mark` locks the run and sets `deliveries_purged_at` (drift checks, the report
refresh, dashboards and exports see it from that commit on); `run_deliveries_delete` then
deletes the rows in batches, one statement per transaction. A crash between batches leaves a
marked run with rows, which the next pass finishes (`runs_purge_unfinished`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from campaigns.ledger.runs import FINAL_RUN_STATUSES, run_has_pending, run_lock
from campaigns.models import Campaign, CampaignRun, Delivery

logger = logging.getLogger(__name__)

# Rows per DELETE. Each statement deletes one batch and commits, so row locks live for one
# statement and the table itself only ever takes ROW EXCLUSIVE (which blocks no reader and
# no writer). In bench/retention.py (PostgreSQL, 2 cores, the table's five indexes) a 1M-row
# run is 201 statements: 16 ms median, 103 ms the longest, 4.5 s in all (~220k rows/s), while
# a writer updating another run's rows every 20 ms never waited more than 34 ms.
PURGE_BATCH_ROWS = 5000

Q_ = Campaign.Qualification


@dataclass
class PurgeStats:
    rows: int = 0
    batches: int = 0
    longest_seconds: float = 0.0


def purge_cutoff(*, now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)


def _qualification_reads_rows(retention_days: int) -> Q:
    """Runs whose rows their campaign's qualification rule still reads (see the module doc).
    An unset "once per" period means 24 hours: within any retention of a day or more."""
    return Q(campaign__qualification=Q_.ONCE) | Q(
        campaign__qualification=Q_.ONCE_PER,
        campaign__qualification_period_hours__gt=retention_days * 24,
    )


def report_final_q() -> Q:
    """The run's RunReport was computed after it ended and no tap came in since."""
    return Q(report__computed_at__gte=F("finished_at")) & (
        Q(report__feedback_at=None) | Q(report__feedback_at__lte=F("report__computed_at"))
    )


def runs_purge_due(*, now: datetime, retention_days: int) -> QuerySet[CampaignRun]:
    """Finished runs that ended before the cutoff, not marked yet, whose rows no qualification
    rule reads (reported or not: the service refreshes a report that is not final)."""
    return (
        CampaignRun.objects.filter(
            status__in=FINAL_RUN_STATUSES,
            finished_at__lt=purge_cutoff(now=now, retention_days=retention_days),
            deliveries_purged_at=None,
        )
        .exclude(_qualification_reads_rows(retention_days))
        .order_by("finished_at", "id")
    )


def runs_purge_unfinished() -> list[int]:
    """Marked runs that still have rows (a pass stopped between two batches)."""
    rows = Delivery.objects.filter(run_id=OuterRef("pk"))
    return list(
        CampaignRun.objects.filter(deliveries_purged_at__isnull=False)
        .filter(Exists(rows))
        .values_list("pk", flat=True)
    )


def run_purge_mark(*, run_id: int, now: datetime, retention_days: int) -> bool:
    """Mark a due run as purged, re-checking under the ledger's locks that it is still due,
    its report final and nothing of it queued or sending. Returns whether it was marked."""
    with transaction.atomic():
        campaign_id = CampaignRun.objects.filter(pk=run_id).values_list("campaign_id", flat=True)
        run = run_lock(run_id=run_id, campaign_id=campaign_id.first())
        if run is None:
            return False
        due = runs_purge_due(now=now, retention_days=retention_days).filter(pk=run_id)
        if not due.filter(report_final_q()).exists() or run_has_pending(run_id):
            return False
        run.deliveries_purged_at = now
        run.save(update_fields=["deliveries_purged_at"])
    return True


def run_deliveries_delete(*, run_id: int, batch_rows: int = PURGE_BATCH_ROWS) -> PurgeStats:
    """Delete a marked run's rows, `batch_rows` per statement, each in its own transaction."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    # The subquery walks the (run, status) index; LIMIT bounds what one statement deletes and
    # locks. (PostgreSQL has no DELETE … LIMIT; SQLite has it only when compiled in.)
    sql = (
        f"DELETE FROM {table} WHERE id IN "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"(SELECT id FROM {table} WHERE run_id = %s LIMIT %s)"
    )
    stats = PurgeStats()
    while True:
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [run_id, batch_rows])
            deleted = cursor.rowcount
        stats.longest_seconds = max(stats.longest_seconds, time.monotonic() - started)
        stats.batches += 1
        stats.rows += deleted
        if deleted < batch_rows:
            return stats
