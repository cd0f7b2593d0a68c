"""Celery tasks of the send path: thin wrappers over the services, taking ids only; and the
worker signals that hand a stopping process's claimed rows back."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_process_shutdown, worker_shutdown
from django.utils import timezone

from campaigns.delivery import send, sweep
from notifications.transports import runtime
from pushmarketing.core.liveness import heartbeat_stop

logger = logging.getLogger(__name__)


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


@shared_task(name="campaigns.deliveries_sweep_orphans", ignore_result=True)
def deliveries_sweep_orphans() -> int:
    return sweep.deliveries_sweep_orphans(now=timezone.now())


@worker_init.connect
def _transports_preload(**kwargs: Any) -> None:
    # In the worker's main process, before the pool forks (runtime.preload says why).
    runtime.preload()


# A warm shutdown (SIGTERM) lets the running chunk finish and record; whatever this process
# still holds after that (a chunk cut short) goes back at once rather than when its
# heartbeat expires. Prefork children get worker_process_shutdown, a solo worker
# worker_shutdown.
@worker_process_shutdown.connect
@worker_shutdown.connect
def _claims_hand_back(**kwargs: Any) -> None:
    try:
        sweep.deliveries_release_own(now=timezone.now())
    except Exception:  # a dying process must still exit; the heartbeat TTL covers the rows
        logger.exception("shutdown: could not hand back claimed rows")
    finally:
        heartbeat_stop()
