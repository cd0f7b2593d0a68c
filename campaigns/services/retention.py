"""Retention's daily pass: finish interrupted purges, make the reports of due runs final,
then purge each due run (campaigns.ledger.retention has the rules and the arithmetic)."""

from __future__ import annotations

import logging
from datetime import datetime

from campaigns.ledger.retention import (
    PURGE_BATCH_ROWS,
    PurgeStats,
    report_final_q,
    run_deliveries_delete,
    run_purge_mark,
    runs_purge_due,
    runs_purge_unfinished,
)
from campaigns.reports.refresh import run_report_refresh

logger = logging.getLogger(__name__)


def _add(total: PurgeStats, stats: PurgeStats) -> None:
    total.rows += stats.rows
    total.batches += stats.batches
    total.longest_seconds = max(total.longest_seconds, stats.longest_seconds)


def _purge(run_id: int, total: PurgeStats, *, batch_rows: int) -> None:
    stats = run_deliveries_delete(run_id=run_id, batch_rows=batch_rows)
    logger.info(
        "retention: run %s: %s delivery rows purged in %s statements (longest %.3f s)",
        run_id,
        stats.rows,
        stats.batches,
        stats.longest_seconds,
    )
    _add(total, stats)


def deliveries_purge(
    *, now: datetime, retention_days: int, batch_rows: int = PURGE_BATCH_ROWS
) -> PurgeStats:
    """Delete the delivery rows of runs that ended more than `retention_days` ago (0 or less
    keeps everything). Runs whose report is not final get it computed from their rows first."""
    total = PurgeStats()
    if retention_days <= 0:
        return total
    for run_id in runs_purge_unfinished():
        _purge(run_id, total, batch_rows=batch_rows)
    due = runs_purge_due(now=now, retention_days=retention_days)
    for run_id in due.exclude(report_final_q()).values_list("pk", flat=True):
        run_report_refresh(run_id=run_id)
    for run_id in due.values_list("pk", flat=True):
        if run_purge_mark(run_id=run_id, now=now, retention_days=retention_days):
            _purge(run_id, total, batch_rows=batch_rows)
    return total
