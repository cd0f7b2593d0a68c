"""The row lock every device write after registration starts with."""

from __future__ import annotations

from devices.models import Device
from devices.services.rules import DeviceNotFound


def device_locked(*, app_id: int, installation_id: str) -> Device:
    try:
        return Device.objects.select_for_update().get(
            app_id=app_id, installation_id=installation_id
        )
    except Device.DoesNotExist as exc:
        raise DeviceNotFound(installation_id) from exc
