"""Dispatch: cut a run's queued deliveries into chunks of about PUSH_CHUNK_SIZE (1,000) and
hand them to the enqueue module (which sends one task per chunk after commit).

Chunk boundaries come from one window-function query (ROW_NUMBER over the run's queued ids,
grouped by row_number / chunk size), so a million-row run is cut into 1,000 id ranges without
Python touching a row. The message is (run id, first id, last id): never objects. Rows with
a `not_before` (local-time sends, quiet hours) are chunked per send minute and their task is
enqueued with a countdown to it, so each chunk runs once, when its rows are due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns import enqueue
from campaigns.models import CampaignRun, Delivery


def _due_bucket_sql() -> str:
    """not_before to the minute: rows of one local-time zone (or one quiet-hours end) share
    a bucket, so a local-time campaign is cut into chunks per send time, not mixed ones."""
    if connection.vendor == "postgresql":
        return "date_trunc('minute', not_before)"
    return "strftime('%%Y-%%m-%%d %%H:%%M', not_before)"


def _as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))  # SQLite returns the stored text
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def delivery_chunks_due(
    *, run_id: int, chunk_size: int | None = None
) -> list[tuple[int, int, datetime | None]]:
    """(first id, last id, earliest not_before) per chunk of queued rows, per send minute.

    Rows waiting for a retry (attempts > 0 and a not_before) are left out: the task that
    recorded the failure scheduled their follow-up, and the sweeper re-dispatches any lost."""
    size = chunk_size or settings.PUSH_CHUNK_SIZE
    table = connection.ops.quote_name(Delivery._meta.db_table)
    bucket = _due_bucket_sql()
    sql = (
        "SELECT MIN(id), MAX(id), MIN(not_before) FROM ("  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"  SELECT id, not_before, {bucket} AS due,"
        f"   (ROW_NUMBER() OVER (PARTITION BY {bucket} ORDER BY id) - 1) / %s AS chunk"
        f"  FROM {table} WHERE run_id = %s AND status = %s"
        "   AND NOT (attempts > 0 AND not_before IS NOT NULL)"
        ") numbered GROUP BY due, chunk ORDER BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, run_id, Delivery.Status.QUEUED])
        return [
            (int(first), int(last), _as_datetime(due)) for first, last, due in cursor.fetchall()
        ]


def id_ranges(ids: Sequence[int], *, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Ranges covering already-known ids (the sweeper's handful of stuck rows)."""
    size = chunk_size or settings.PUSH_CHUNK_SIZE
    ordered = sorted(ids)
    return [
        (ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)
    ]


def deliveries_dispatch(*, run: CampaignRun) -> int:
    """Enqueue the run's queued deliveries after the current transaction commits; returns the
    number of chunks enqueued (a chunk already scheduled for the same moment is not again)."""
    chunks = delivery_chunks_due(run_id=run.pk)
    return enqueue.chunks_send(
        run_id=run.pk, chunks=chunks, queue=enqueue.queue_for_run_kind(run.kind)
    )


def deliveries_dispatch_ids(
    *, run: CampaignRun, delivery_ids: Sequence[int], due: datetime | None = None
) -> int:
    """Send particular new deliveries (a trigger fire's rows) at `due` (None: now) without
    re-scanning the run's other queued rows; the claim makes overlapping ranges harmless."""
    chunks = [(first, last, due) for first, last in id_ranges(delivery_ids)]
    return enqueue.chunks_send(
        run_id=run.pk, chunks=chunks, queue=enqueue.queue_for_run_kind(run.kind)
    )
