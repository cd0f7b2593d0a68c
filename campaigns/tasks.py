"""Celery interfaces for campaigns: each task parses ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from campaigns import scheduling, services, triggers

logger = logging.getLogger(__name__)


# acks_late: the service locks the campaign row and refuses to open a second run while one is
# open, so a redelivered task after a crash either redoes rolled-back work or does nothing.
@shared_task(name="campaigns.campaign_run_start", acks_late=True)
def campaign_run_start(campaign_id: int, started_by_id: int | None = None) -> int | None:
    run = services.campaign_run_start(campaign_id=campaign_id, started_by_id=started_by_id)
    return run.pk if run is not None else None


# Safe to run twice only in the sense that a redelivered evaluation of the same activities
# would fire again for "every time" campaigns; so no acks_late: at most once per activity.
@shared_task(name="campaigns.triggers_evaluate")
def triggers_evaluate(activity_ids: list[int]) -> int:
    return triggers.triggers_evaluate(activity_ids=[int(i) for i in activity_ids])


@shared_task(name="campaigns.schedules_tick")
def schedules_tick() -> list[int]:
    """Beat, every 30 s: start the scheduled campaigns that are due (claimed in the DB)."""
    won = scheduling.schedules_due_claim(now=timezone.now())
    for campaign_id in won:
        campaign_run_start.apply_async(args=(campaign_id, None), queue="default")
    if won:
        logger.info("campaigns: schedules_tick started %s", won)
    return won
