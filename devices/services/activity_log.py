"""Activity rows and their hand-off to trigger evaluation.

New activities go to the trigger engine (a Celery task sent by name: devices does not import
campaigns) after commit, and only when an active trigger campaign of the app listens for their
kind (devices.trigger_listeners)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from devices.models import DeviceActivity
from devices.trigger_listeners import trigger_kinds_for
from pushmarketing.core.celery import app as celery_app

logger = logging.getLogger(__name__)

TRIGGER_TASK_NAME = "campaigns.triggers_evaluate"
TRIGGER_QUEUE = "send"


def _trigger_message_send(activity_ids: list[int]) -> None:
    try:
        # retry=False: a broker outage must cost the SDK call milliseconds, not a retry loop.
        celery_app.send_task(
            TRIGGER_TASK_NAME, args=[activity_ids], queue=TRIGGER_QUEUE, retry=False
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure is logged, never raised
        logger.warning(
            "SDK: could not queue trigger evaluation for %d activities: %s",
            len(activity_ids),
            exc.__class__.__name__,
        )


def triggers_send_after_commit(activity_ids: list[int]) -> None:
    if activity_ids:
        transaction.on_commit(lambda: _trigger_message_send(activity_ids))


def _after_commit_evaluate_triggers(*, app_id: int, activities: list[tuple[int, str]]) -> None:
    """Hand (id, kind) activities to trigger evaluation after commit, if a trigger listens."""
    listening = trigger_kinds_for(app_id) if activities else frozenset()
    triggers_send_after_commit(
        [activity_id for activity_id, kind in activities if kind in listening]
    )


def activities_insert(rows: Sequence[DeviceActivity]) -> list[int]:
    created = DeviceActivity.objects.bulk_create(rows)
    if created:
        _after_commit_evaluate_triggers(
            app_id=created[0].app_id, activities=[(row.pk, row.kind) for row in created]
        )
    return [row.pk for row in created]
