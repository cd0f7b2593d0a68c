"""The trigger outbox: activities a trigger campaign listens for, waiting to be evaluated.

An SDK call adds its rows in the transaction (on PostgreSQL, the statement) that records the
activities, so it only writes: no evaluation, no per-activity Celery message. After commit it
wakes the trigger pump (campaigns.trigger_pump), which drains the outbox in batches.

Waking costs one Celery message per wake-up, not per activity. The wake flag is a Redis key
set with SET NX (on the embedded default, a file-cache `add`): the first activity on a quiet system sets it and sends the pump
at once (no fixed wait), and while a pump drains the flag stays up, so under load hundreds of
activities share one message and one evaluation batch. The pump lowers the flag when it finds
the outbox empty and then looks once more, so a row committed while the flag was up is never
stranded; the flag's TTL and the beat's tick cover a pump that died holding it.

Asking Redis on every call cost ~110 µs of CPU, a tenth of a register call, and under load the
answer is nearly always "a pump is awake". So a process that saw the flag up trusts that for
WAKE_RECHECK_SECONDS without asking again, and the pump waits PUMP_SLEEP_GRACE_SECONDS (longer)
between lowering the flag and its last look. Why no row is stranded: a call that skips at time
t saw the flag up at some t0 > t - WAKE_RECHECK_SECONDS, after its row committed; the flag it
saw is lowered at some tl > t0 by the pump it belongs to, whose last look is at tl + grace >
t0 + WAKE_RECHECK_SECONDS > t, so that look sees the row.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Min

from devices.models import TriggerOutbox, TriggerWait
from pushmarketing.core.celery import app as celery_app

logger = logging.getLogger(__name__)

PUMP_TASK_NAME = "campaigns.triggers_drain"
PUMP_QUEUE = "send"
WAKE_KEY = "pm:trigger-pump:awake"
# Long enough to cover a pump's batch; short, because a pump that died holding the flag
# delays the next wake-up by at most this (the beat's tick drains the rest).
WAKE_TTL_SECONDS = 5
# At 400 calls/s per web process, one Redis call per 50 ms instead of 20; the pump pays 60 ms
# of idle once per drain (the argument in the module docstring needs grace > recheck).
WAKE_RECHECK_SECONDS = 0.05
PUMP_SLEEP_GRACE_SECONDS = 0.06
# When this process last asked and found the flag up (time.monotonic(), taken before asking).
_flag_seen_up_at = float("-inf")

_TABLE = TriggerOutbox._meta.db_table


def outbox_add(activity_ids: Sequence[int], *, now: datetime) -> None:
    """Queue activities for evaluation in the caller's transaction; wake the pump after it."""
    if activity_ids:
        TriggerOutbox.objects.bulk_create(
            [TriggerOutbox(activity_id=pk, created_at=now) for pk in activity_ids]
        )
        pump_wake_after_commit()


def pump_wake_after_commit() -> None:
    transaction.on_commit(pump_wake)


@functools.cache
def _redis() -> Any:
    # One client per process (thread-safe, with its own pool): Django's RedisCache builds a
    # client object on every call, a tenth of a millisecond of an SDK call's CPU.
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _flag_raise() -> bool:
    """True when this call raised the wake flag (no pump was awake)."""
    if settings.REDIS_URL:
        return bool(_redis().set(WAKE_KEY, 1, nx=True, ex=WAKE_TTL_SECONDS))
    return cache.add(WAKE_KEY, 1, WAKE_TTL_SECONDS)


def pump_wake() -> None:
    """Send the pump unless one is already awake. Never raises: the rows are safe in the
    outbox, and a broker outage must cost the SDK call milliseconds, not an error."""
    global _flag_seen_up_at
    asked_at = time.monotonic()
    if asked_at - _flag_seen_up_at < WAKE_RECHECK_SECONDS:
        return
    try:
        raised = _flag_raise()
        _flag_seen_up_at = asked_at
        if not raised:
            return
        celery_app.send_task(PUMP_TASK_NAME, queue=PUMP_QUEUE, retry=False)
    except Exception as exc:  # noqa: BLE001 - any cache or broker failure is logged, never raised
        _flag_lower()
        logger.warning("SDK: could not wake the trigger pump: %s", exc.__class__.__name__)


def pump_sleep() -> None:
    """The pump found the outbox empty: the next activity wakes a pump again. The caller
    looks at the outbox once more after PUMP_SLEEP_GRACE_SECONDS."""
    global _flag_seen_up_at
    _flag_seen_up_at = float("-inf")
    _flag_lower()


def _flag_lower() -> None:
    try:
        if settings.REDIS_URL:
            _redis().delete(WAKE_KEY)
        else:
            cache.delete(WAKE_KEY)
    except Exception as exc:  # noqa: BLE001 - the flag's TTL lowers it anyway
        logger.warning("trigger pump: could not lower the wake flag: %s", exc.__class__.__name__)


def _claim_sql() -> str:
    # SKIP LOCKED: pumps on several workers take disjoint batches instead of queueing on one
    # another. SQLite has no row locks and needs none: its writers take the lock at BEGIN.
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return (
        f"DELETE FROM {_TABLE} WHERE id IN ("  # noqa: S608 - identifiers from model metadata; the limit is a parameter
        f"SELECT id FROM {_TABLE} ORDER BY id LIMIT %s{skip_locked}) "
        "RETURNING activity_id, campaign_id"
    )


def outbox_claim(*, limit: int) -> list[tuple[int, int | None]]:
    """Take up to `limit` of the oldest waiting (activity id, campaign id or None for every
    campaign). Call inside the transaction that evaluates them: a crash before commit puts
    them back, a commit removes them for good."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_claim must run inside the evaluating transaction")
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [limit])
        return sorted((row[0], row[1]) for row in cursor.fetchall())


def waits_add(waits: Sequence[tuple[int, int, int, datetime]]) -> None:
    """(activity id, campaign id, device id, until): wait for the device's lead until then."""
    if waits:
        TriggerWait.objects.bulk_create(
            TriggerWait(activity_id=a, campaign_id=c, device_id=d, until=until)
            for a, c, d, until in waits
        )


def waits_release(*, device_id: int, now: datetime) -> int:
    """The device has a lead now: its waiting activities go back to the outbox (each for its
    campaign), in the caller's transaction; the pump is woken after it commits."""
    waiting = TriggerWait.objects.filter(device_id=device_id, until__gt=now)
    rows = [
        TriggerOutbox(activity_id=a, campaign_id=c, created_at=now)
        for a, c in waiting.values_list("activity_id", "campaign_id")
    ]
    TriggerWait.objects.filter(device_id=device_id).delete()
    if rows:
        TriggerOutbox.objects.bulk_create(rows)
        pump_wake_after_commit()
    return len(rows)


def waits_expire(*, now: datetime) -> int:
    """Drop waits whose device never got a lead in time (never targetable: nothing to send)."""
    deleted, _ = TriggerWait.objects.filter(until__lte=now).delete()
    return deleted


def outbox_backlog() -> tuple[int, datetime | None]:
    """How many activities wait for evaluation, and since when the oldest has waited."""
    figures = TriggerOutbox.objects.aggregate(waiting=Count("id"), oldest=Min("created_at"))
    return figures["waiting"], figures["oldest"]
