"""Activities the SDK reports: opens, custom actions, and push feedback (received/tapped).

Push feedback concerns campaigns' deliveries; campaigns records it through the hook it
registers at start-up (devices.hooks), inside this transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from devices import hooks
from devices.models import DeviceActivity
from devices.services.activity_log import activities_insert
from devices.services.locking import device_locked
from devices.services.rules import MAX_ACTIVITIES_PER_CALL, RegistryError

PUSH_FEEDBACK_KINDS = (DeviceActivity.Kind.PUSH_RECEIVED, DeviceActivity.Kind.PUSH_TAPPED)


@transaction.atomic
def device_activities_record(
    *,
    app_id: int,
    installation_id: str,
    activities: Iterable[dict[str, Any]],
    field_prefix: str = "activities",
) -> list[int]:
    """Append activities reported by the SDK; all or nothing. Returns the new activity ids."""
    items = list(activities)
    if not 1 <= len(items) <= MAX_ACTIVITIES_PER_CALL:
        raise RegistryError(field_prefix, f"Send 1-{MAX_ACTIVITIES_PER_CALL} activities.")
    device = device_locked(app_id=app_id, installation_id=installation_id)
    now = timezone.now()
    for item in items:
        item.setdefault("occurred_at", now)
    feedback = [
        (index, item) for index, item in enumerate(items) if item["kind"] in PUSH_FEEDBACK_KINDS
    ]
    if feedback:
        hooks.push_feedback_record(device=device, items=feedback, field_prefix=field_prefix)
    opens = [item["occurred_at"] for item in items if item["kind"] == DeviceActivity.Kind.OPENED]
    if opens:
        device.last_opened_at = max(opens + [device.last_opened_at or opens[0]])
        device.first_opened_at = device.first_opened_at or min(opens)
        device.save(update_fields=["last_opened_at", "first_opened_at", "updated_at"])
    return activities_insert(
        [
            DeviceActivity(
                app_id=app_id,
                device=device,
                lead_id=device.lead_id,
                kind=item["kind"],
                action_name=item.get("action_name") or "",
                action_type=item.get("action_type") or "",
                details=item.get("details") or "",
                metric=item.get("metric"),
                length_seconds=item.get("length_seconds"),
                delivery_id=item.get("delivery_id"),
                occurred_at=item["occurred_at"],
            )
            for item in items
        ]
    )
