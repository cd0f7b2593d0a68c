"""Celery interfaces for campaigns: each task parses ids and calls one service.

Tasks are enqueued by name from campaigns.enqueue; nothing imports this module but Celery's
autodiscovery."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from campaigns import resolve, services, trigger_pump, triggers
from campaigns.abtest import winner

logger = logging.getLogger(__name__)


# acks_late: the service locks the run and resolves it only while it is `resolving`, so a
# redelivered task after a crash either redoes rolled-back work or does nothing.
@shared_task(name="campaigns.run_resolve", acks_late=True, ignore_result=True)
def run_resolve(run_id: int) -> None:
    resolve.run_resolve(run_id=run_id)


# No acks_late: each batch is its own transaction, so a crash rolls its activities back into
# the outbox, and the wake flag's TTL or the beat's tick (every 10 s) starts another pump.
@shared_task(name="campaigns.triggers_drain", ignore_result=True)
def triggers_drain() -> int:
    return trigger_pump.triggers_drain()


# The hand-off before the outbox: messages an older version queued are still evaluated.
@shared_task(name="campaigns.triggers_evaluate")
def triggers_evaluate(activity_ids: list[int]) -> int:
    return triggers.triggers_evaluate(activity_ids=[int(i) for i in activity_ids])


@shared_task(name="campaigns.schedules_tick", ignore_result=True)
def schedules_tick() -> list[int]:
    """Beat, every 30 s: open a run for each scheduled campaign that is due."""
    started = services.campaigns_due_start(now=timezone.now())
    if started:
        logger.info("campaigns: schedules_tick started %s", started)
    return started


# acks_late: marking a run is conditional and deleting rows that are gone deletes nothing, so a
# pass redelivered after a crash finishes the run it was purging and repeats nothing else.
@shared_task(name="campaigns.deliveries_purge", acks_late=True, ignore_result=True)
def deliveries_purge() -> int:
    """Beat, daily: delete the delivery rows of runs that ended DELIVERY_RETENTION_DAYS ago."""
    stats = services.deliveries_purge(
        now=timezone.now(), retention_days=settings.DELIVERY_RETENTION_DAYS
    )
    return stats.rows


# acks_late: the pick locks the test run and acts only while its winner is due and unpicked, so
# a redelivered task, the beat's pass and this ETA task can all run: one opens the winner run.
@shared_task(name="campaigns.ab_winner_pick", acks_late=True, ignore_result=True)
def ab_winner_pick(run_id: int) -> None:
    winner.ab_winner_pick(run_id=run_id, now=timezone.now())


@shared_task(name="campaigns.ab_winners_due", acks_late=True, ignore_result=True)
def ab_winners_due() -> int:
    """Beat, every 30 s: pick the A/B winners whose wait is over (the ETA task's backstop)."""
    return len(winner.ab_winners_due(now=timezone.now()))
