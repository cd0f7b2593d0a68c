"""The trigger pump: drains the trigger outbox (devices.trigger_outbox) in batches.

Each batch is one transaction: take up to BATCH_SIZE waiting activities (SKIP LOCKED, so pumps
on several workers take disjoint batches), evaluate them against every listening campaign at
once (campaigns.triggers: one set-based audience query per campaign) and write the deliveries.
The commit removes the batch from the outbox; a crash before it rolls the whole batch back
into it. So every activity is evaluated exactly once, however many workers pump.

After the commit the pump sends the batch's due rows itself, through the same service a send
task runs (claim, render, send, record), naming exactly the rows it made. A trigger is a
latency path: a second hop through the broker would add a queue wait and a task's overhead
to every batch, and under load the send lane would fall behind the pump. Sending in the pump,
the next batch simply holds whatever arrived while this one was sent, so batches grow with
the load and no fixed wait is ever added. Rows held for quiet hours go to the send lane with
their countdown, and a chunk whose inline send fails goes there too.

A pump that takes a full batch wakes another pump (once): a backlog is drained by every worker
process on the `send` lane at once (evaluation of one campaign is serialised by its run lock;
the sends run in parallel).
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from campaigns import enqueue
from campaigns.delivery.send import deliveries_send
from campaigns.triggers import triggers_evaluate
from devices.trigger_outbox import (
    PUMP_SLEEP_GRACE_SECONDS,
    outbox_claim,
    pump_sleep,
    waits_expire,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# A pump hands over to a fresh task after this long, so the tasks queued behind it on the
# `send` lane (samples, retries, quiet-hours chunks) get a turn on this worker process.
TIME_BUDGET_SECONDS = 2.0

Chunk = tuple[int, int, int]  # run id, first delivery id, last delivery id


def triggers_drain_batch(*, limit: int = BATCH_SIZE) -> tuple[int, list[Chunk]]:
    """Evaluate one batch of waiting activities and commit. Returns how many activities were
    taken and the chunks of new deliveries due now (to send after the commit)."""
    due: list[Chunk] = []
    with transaction.atomic():
        claimed = outbox_claim(limit=limit)
        if claimed:
            triggers_evaluate(
                activity_ids=[activity_id for activity_id, _ in claimed],
                send_now=due.append,
                only_campaign={a: c for a, c in claimed if c is not None},
            )
    return len(claimed), due


def chunks_send_now(chunks: list[Chunk]) -> None:
    """Send committed rows in this process; a chunk that fails goes to the send lane, whose
    claim makes a second attempt at the same rows harmless."""
    for run_id, first_id, last_id in chunks:
        try:
            deliveries_send(run_id=run_id, first_id=first_id, last_id=last_id)
        except Exception:
            logger.exception("trigger pump: run %s [%s..%s] handed to the send lane", run_id,
                             first_id, last_id)  # fmt: skip
            enqueue.chunks_send(run_id=run_id, chunks=[(first_id, last_id, None)], queue="send")


def triggers_drain(
    *, budget_seconds: float = TIME_BUDGET_SECONDS, batch_size: int = BATCH_SIZE
) -> int:
    """Drain the outbox until it is empty or the time budget is spent; returns activities
    evaluated. An empty outbox lowers the wake flag, then is checked once more after the
    grace (devices.trigger_outbox says why): a row committed while the flag was still up
    found no pump to wake."""
    deadline = time.monotonic() + budget_seconds
    evaluated, helped = 0, False
    while True:
        taken, due = triggers_drain_batch(limit=batch_size)
        if not taken:
            waits_expire(now=timezone.now())  # a quiet moment: drop waits that ran out
            pump_sleep()
            time.sleep(PUMP_SLEEP_GRACE_SECONDS)
            taken, due = triggers_drain_batch(limit=batch_size)
            if not taken:
                return evaluated
        evaluated += taken
        if taken == batch_size and not helped:
            # A backlog: another worker process drains alongside. Once per pump, so the
            # helpers grow one at a time rather than one per batch.
            enqueue.trigger_pump()
            helped = True
        chunks_send_now(due)
        if time.monotonic() >= deadline:
            logger.info("trigger pump: %s evaluated, handing over with more waiting", evaluated)
            enqueue.trigger_pump()
            return evaluated
