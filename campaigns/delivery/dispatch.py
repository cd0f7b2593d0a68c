"""Enqueue: one small task per ~500 queued deliveries of a run, after commit.

Chunk boundaries come from one window-function query (ROW_NUMBER over the run's queued ids,
grouped by row_number / chunk size), so a million-row run is cut into 2,000 id ranges without
Python touching a row. The message is (run id, first id, last id): never objects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery

logger = logging.getLogger(__name__)

QUEUES = ("send", "bulk", "default")


def queue_for_run_kind(kind: str) -> str:
    """Trigger, sample and API sends are latency-sensitive; batch chunks go to `bulk`."""
    return "bulk" if kind == CampaignRun.Kind.BATCH else "send"


def delivery_chunks(*, run_id: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    size = chunk_size or settings.PUSH_CHUNK_SIZE
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        "SELECT MIN(id), MAX(id) FROM ("
        f"  SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk FROM {table}"
        "   WHERE run_id = %s AND status = %s"
        ") numbered GROUP BY chunk ORDER BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, run_id, Delivery.Status.QUEUED])
        return [(int(first), int(last)) for first, last in cursor.fetchall()]


def id_ranges(ids: Sequence[int], *, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Ranges covering already-known ids (the sweeper's handful of stuck rows)."""
    size = chunk_size or settings.PUSH_CHUNK_SIZE
    ordered = sorted(ids)
    return [
        (ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)
    ]


def _enqueue(run_id: int, chunks: list[tuple[int, int]], queue: str) -> None:
    from campaigns.delivery.tasks import deliveries_send as send_task

    for first_id, last_id in chunks:
        send_task.apply_async(args=(run_id, first_id, last_id), queue=queue)
    logger.info("dispatch: run %s, %s chunk(s) on %s", run_id, len(chunks), queue)


def chunks_enqueue(*, run_id: int, chunks: list[tuple[int, int]], queue: str) -> None:
    if chunks:
        transaction.on_commit(partial(_enqueue, run_id, chunks, queue))


def deliveries_dispatch(*, run_id: int, queue: str = "bulk") -> int:
    """Enqueue the run's queued deliveries after the current transaction commits.

    Returns the number of chunks enqueued. A run with nothing queued is completed at once
    (when it is `sending`), so an empty audience does not leave a run open."""
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    chunks = delivery_chunks(run_id=run_id)
    if not chunks:
        from campaigns.delivery.record import run_complete_if_done

        run_complete_if_done(run_id=run_id, now=timezone.now())
        return 0
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
