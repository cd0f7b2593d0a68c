"""Enqueue: one small task per ~500 queued deliveries of a run, after commit.

Chunk boundaries come from one window-function query (ROW_NUMBER over the run's queued ids,
grouped by row_number / chunk size), so a million-row run is cut into 2,000 id ranges without
Python touching a row. The message is (run id, first id, last id): never objects. Rows with
a `not_before` (local-time sends, quiet hours) are chunked per send minute and their task is
enqueued with a countdown to it, so each chunk runs once, when its rows are due.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import CampaignRun, Delivery

logger = logging.getLogger(__name__)

QUEUES = ("send", "bulk", "default")
# ETA tasks longer than the Redis visibility timeout (1 h) would be redelivered: hop instead.
MAX_COUNTDOWN_SECONDS = 1800


def queue_for_run_kind(kind: str) -> str:
    """Trigger, sample and API sends are latency-sensitive; batch chunks go to `bulk`."""
    return "bulk" if kind == CampaignRun.Kind.BATCH else "send"


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
        "SELECT MIN(id), MAX(id), MIN(not_before) FROM ("
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


def delivery_chunks(*, run_id: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    return [
        (first, last)
        for first, last, _ in delivery_chunks_due(run_id=run_id, chunk_size=chunk_size)
    ]


def id_ranges(ids: Sequence[int], *, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Ranges covering already-known ids (the sweeper's handful of stuck rows)."""
    size = chunk_size or settings.PUSH_CHUNK_SIZE
    ordered = sorted(ids)
    return [
        (ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)
    ]


def _countdown(due: datetime | None, now: datetime) -> float:
    if due is None:
        return 0.0
    # Far-off chunks hop: the task re-schedules itself for what is still not due.
    return max(0.0, min((due - now).total_seconds() + 0.05, MAX_COUNTDOWN_SECONDS))


def _enqueue(run_id: int, chunks: list[tuple], queue: str) -> None:
    from campaigns.delivery.tasks import deliveries_send as send_task

    now = timezone.now()
    for first_id, last_id, *due in chunks:
        countdown = _countdown(due[0] if due else None, now)
        send_task.apply_async(
            args=(run_id, first_id, last_id), queue=queue, countdown=countdown or None
        )
    logger.info("dispatch: run %s, %s chunk(s) on %s", run_id, len(chunks), queue)


def chunks_enqueue(*, run_id: int, chunks: list[tuple], queue: str) -> None:
    if chunks:
        transaction.on_commit(partial(_enqueue, run_id, chunks, queue))


def deliveries_dispatch(*, run_id: int, queue: str = "bulk") -> int:
    """Enqueue the run's queued deliveries after the current transaction commits.

    Returns the number of chunks enqueued. A run with nothing queued is completed at once
    (when it is `sending`), so an empty audience does not leave a run open."""
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    now = timezone.now()
    chunks = delivery_chunks_due(run_id=run_id)
    if not chunks:
        from campaigns.delivery.record import run_complete_if_done

        run_complete_if_done(run_id=run_id, now=now)
        return 0
    # A trigger stream is dispatched again for every activity: a chunk already scheduled for
    # a later minute is not scheduled twice.
    chunks = [
        chunk
        for chunk in chunks
        if chunk[2] is None
        or chunk[2] <= now
        or cache.add(
            f"pm:dispatch:{run_id}:{chunk[0]}:{chunk[1]}:{chunk[2].timestamp():.3f}",
            1,
            int(_countdown(chunk[2], now)) + 60,
        )
    ]
    chunks_enqueue(run_id=run_id, chunks=chunks, queue=queue)
    return len(chunks)


def deliveries_dispatch_ids(
    *, run_id: int, delivery_ids: Sequence[int], queue: str = "send"
) -> int:
    """Send particular deliveries now (a trigger campaign's new rows), after commit.

    For a trigger stream this avoids re-scanning the run's other queued rows; the claim
    makes overlapping ranges harmless."""
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    chunks = id_ranges(delivery_ids)
    chunks_enqueue(run_id=run_id, chunks=chunks, queue=queue)
    return len(chunks)
