"""Test devices, SDK side: a phone uses a pairing code (the admin side is
devices.services.test_devices)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from devices.models import Device, TestDevicePairing
from devices.services.locking import device_locked
from devices.services.rules import AppRef, DeviceNotFound, RegistryError


@transaction.atomic
def device_pair_test(*, app: AppRef, installation_id: str, code: str) -> Device:
    """Use a pairing code (one use, not expired, same app) to make a device a named test
    device. A code of another app is reported exactly like an unknown one."""
    pairing = TestDevicePairing.objects.select_for_update().filter(code=code, app_id=app.pk).first()
    if pairing is None:
        raise RegistryError("code", "No pairing with this code exists for this app.")
    if pairing.paired_at is not None:
        raise RegistryError("code", "This pairing code has already been used.")
    if pairing.expires_at <= timezone.now():
        raise RegistryError("code", "This pairing code has expired; ask for a new one.")
    try:
        device = device_locked(app_id=app.pk, installation_id=installation_id)
    except DeviceNotFound as exc:
        raise RegistryError(
            "installation_id", "No device with this installation id; register it first."
        ) from exc
    device.is_test_device = True
    device.test_device_name = pairing.name
    device.save(update_fields=["is_test_device", "test_device_name", "updated_at"])
    pairing.device = device
    pairing.paired_at = timezone.now()
    pairing.save(update_fields=["device", "paired_at"])
    return device
