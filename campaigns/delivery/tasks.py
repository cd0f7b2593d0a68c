"""Celery tasks of the send path: thin wrappers over the services, taking ids only."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from campaigns.delivery import send, sweep


# acks_late: the message is acknowledged only after the chunk was processed, so a worker
# killed mid-batch gets its message redelivered instead of losing it. That is safe because
# the task starts by claiming its rows with a conditional UPDATE: a redelivered or duplicate
# message finds nothing queued and sends nothing.
@shared_task(name="campaigns.deliveries_send", acks_late=True, ignore_result=True)
def deliveries_send(run_id: int, first_id: int, last_id: int) -> int:
    return send.deliveries_send(run_id=run_id, first_id=first_id, last_id=last_id).claimed


@shared_task(name="campaigns.deliveries_sweep", ignore_result=True)
def deliveries_sweep() -> int:
    return sweep.deliveries_sweep(now=timezone.now())
