"""Activity rows and their hand-off to trigger evaluation.

Activities whose kind an active trigger campaign of the app listens for
(devices.trigger_listeners) also get a row in the trigger outbox, in the same transaction;
the trigger pump evaluates them in batches (devices.trigger_outbox). Devices does not import
campaigns: the pump is woken by a Celery task name."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from devices.models import DeviceActivity
from devices.trigger_listeners import trigger_kinds_for
from devices.trigger_outbox import outbox_add


def activities_insert(rows: Sequence[DeviceActivity]) -> list[int]:
    created = DeviceActivity.objects.bulk_create(rows)
    if not created:
        return []
    listening = trigger_kinds_for(created[0].app_id)
    outbox_add([row.pk for row in created if row.kind in listening], now=timezone.now())
    return [row.pk for row in created]
