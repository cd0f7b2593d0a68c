"""Unregister: the SDK's logout."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from devices.models import Device
from devices.services.locking import device_locked


@transaction.atomic
def device_unregister(*, app_id: int, installation_id: str, reason: str = "logout") -> Device:
    """Logout: the token is dropped, push disabled and the lead detached, so the device is
    anonymous again, as after its first open. The next open (register with a token) turns
    push back on but never the old lead: the register upsert never writes `lead_id`, only a
    login (`device_lead_associate`) does. On a shared phone the person who logged out is
    therefore never sent a push there again, and whoever logs in next is."""
    device = device_locked(app_id=app_id, installation_id=installation_id)
    device.push_enabled = False
    device.push_token = ""
    device.lead = None
    device.status = Device.Status.UNREGISTERED
    device.status_reason = reason
    device.status_changed_at = timezone.now()
    device.save(
        update_fields=[
            "push_enabled",
            "push_token",
            "lead",
            "status",
            "status_reason",
            "status_changed_at",
            "updated_at",
        ]
    )
    return device
