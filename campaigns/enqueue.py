"""The only campaigns code that talks to Celery.

Every message is sent after the current transaction commits (a task must find the rows that
made it necessary) and carries ids only. Tasks are addressed by name, so this module imports
no task module: tasks import services, services import this.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from campaigns.models import CampaignRun
from pushmarketing.core.celery import QUEUES

logger = logging.getLogger(__name__)
# ETA tasks longer than the Redis visibility timeout (1 h) would be redelivered: a far-off
# send is split into hops of at most this long, each re-checking what is still queued.
MAX_COUNTDOWN_SECONDS = 1800
# +50 ms: a task must find its rows due, not a hair early.
DUE_MARGIN_SECONDS = 0.05

REPORT_DEBOUNCE_SECONDS = 10

Chunk = tuple[int, int, datetime | None]


def queue_for_run_kind(kind: str) -> str:
    """Samples go to `interactive` (someone watches the page: no backlog may stand in front),
    trigger and API sends to `send` (latency-sensitive), batch chunks to `bulk`."""
    if kind == CampaignRun.Kind.SAMPLE:
        return "interactive"
    return "bulk" if kind == CampaignRun.Kind.BATCH else "send"


def countdown_until(due: datetime | None, *, now: datetime) -> float:
    """Seconds to wait for `due`, capped at one hop."""
    if due is None:
        return 0.0
    seconds = (due - now).total_seconds() + DUE_MARGIN_SECONDS
    return max(0.0, min(seconds, MAX_COUNTDOWN_SECONDS))


def _send(name: str, args: Sequence[Any], *, queue: str, countdown: float = 0.0) -> None:
    current_app.send_task(name, args=list(args), queue=queue, countdown=countdown or None)


def _after_commit(name: str, args: Sequence[Any], *, queue: str, countdown: float = 0.0) -> None:
    transaction.on_commit(partial(_send, name, args, queue=queue, countdown=countdown))


def run_resolve(*, run_id: int) -> None:
    """Resolve a freshly opened batch run's audience (a big INSERT … SELECT: never in a
    request)."""
    _after_commit("campaigns.run_resolve", (run_id,), queue="default")


def ab_winner_pick(*, run_id: int, due: datetime, now: datetime) -> None:
    """Pick an A/B test's winner when its wait is over. A wait longer than one ETA hop fires
    early and finds nothing due; the beat's tick (campaigns.ab_winners_due) picks it then."""
    _after_commit(
        "campaigns.ab_winner_pick",
        (run_id,),
        queue="default",
        countdown=countdown_until(due, now=now),
    )


def trigger_pump() -> None:
    """Another pump for the trigger outbox, at once (the running one spent its time budget)."""
    _send("campaigns.triggers_drain", (), queue="send")


def run_report_refresh(*, run_id: int) -> None:
    _after_commit("campaigns.run_report_refresh", (run_id,), queue="default")


def run_report_refresh_soon(*, run_id: int) -> bool:
    """A dashboard asks for a fresh report: at most once per debounce window per run."""
    if not cache.add(f"pm:report-soon:{run_id}", 1, REPORT_DEBOUNCE_SECONDS):
        return False
    run_report_refresh(run_id=run_id)
    return True


def chunks_send(*, run_id: int, chunks: Sequence[Chunk], queue: str) -> int:
    """One send task per chunk, each with a countdown to its earliest due row.

    A chunk scheduled for later is keyed in the cache by when it will run, so dispatching a
    run again (a trigger stream, a sweep) does not schedule the same future chunk twice."""
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    now = timezone.now()
    sent = 0
    for first_id, last_id, due in chunks:
        countdown = countdown_until(due, now=now)
        if countdown and not _first_for_moment(run_id, first_id, last_id, due, countdown, now):
            continue
        _after_commit(
            "campaigns.deliveries_send",
            (run_id, first_id, last_id),
            queue=queue,
            countdown=countdown,
        )
        sent += 1
    if sent:
        logger.info("enqueue: run %s, %s chunk(s) on %s", run_id, sent, queue)
    return sent


def chunk_follow_up(*, run_id: int, first_id: int, last_id: int, due: datetime, queue: str) -> bool:
    """The follow-up of a chunk whose rows wait (retries, throttle, quiet hours)."""
    return bool(chunks_send(run_id=run_id, chunks=[(first_id, last_id, due)], queue=queue))


def _first_for_moment(
    run_id: int,
    first_id: int,
    last_id: int,
    due: datetime | None,
    countdown: float,
    now: datetime,
) -> bool:
    # Keyed on the due time and the number of hops still to go: dispatching a run again (a
    # trigger stream, a sweep) finds the same key, while each hop of a far-off chunk (one
    # every MAX_COUNTDOWN_SECONDS) has one hop fewer to go, so it is scheduled once too.
    due_at = due.timestamp() if due is not None else now.timestamp() + countdown
    hops = math.ceil(max(due_at - now.timestamp(), 0.0) / MAX_COUNTDOWN_SECONDS)
    key = f"pm:chunk:{run_id}:{first_id}:{last_id}:{int(due_at * 1000)}:{hops}"
    return bool(cache.add(key, 1, timeout=int(countdown) + 60))
