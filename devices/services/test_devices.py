"""Test devices, admin side: pairing links / QR codes, and marking registered devices.

The SDK side that consumes a pairing code is `devices.services.pairing.device_pair_test`."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta

import qrcode
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from devices.models import Device, MobileApp, TestDevicePairing
from pushmarketing.core.audit import audit_record

PAIRING_VALID_FOR = timedelta(days=7)
NAME_MAX = TestDevicePairing.NAME_MAX_LENGTH


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(
            {"name": [gettext("Give the test device a name, e.g. “Dana's iPhone”.")]}
        )
    if len(name) > NAME_MAX:
        raise ValidationError(
            {"name": [gettext("Use at most %(limit)s characters.") % {"limit": NAME_MAX}]}
        )
    return name


def pairing_url(pairing: TestDevicePairing) -> str:
    return settings.SITE_URL + reverse("pair-landing", kwargs={"code": pairing.code})


def pairing_qr_png(pairing: TestDevicePairing) -> bytes:
    image = qrcode.make(pairing_url(pairing), box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@transaction.atomic
def test_device_pairing_create(
    *, app: MobileApp, name: str, actor: User | None
) -> TestDevicePairing:
    pairing = TestDevicePairing.objects.create(
        app=app,
        name=_clean_name(name),
        # 16 URL-safe characters (96 bits): unguessable, short enough to type if the QR fails.
        code=secrets.token_urlsafe(12),
        created_by=actor,
        expires_at=timezone.now() + PAIRING_VALID_FOR,
    )
    audit_record(
        actor=actor,
        action="test_device.pairing_created",
        target=pairing,
        summary=f"Test device pairing “{pairing.name}” created for {app.name}",
        details={"app_id": app.id},
    )
    return pairing


@transaction.atomic
def test_device_mark(*, app: MobileApp, device_id: int, name: str, actor: User | None) -> Device:
    clean = _clean_name(name)
    device = Device.objects.select_for_update().filter(app=app, id=device_id).first()
    if device is None:
        raise ValidationError(
            {"device_id": [gettext("No registered device with this id in this app.")]}
        )
    device.is_test_device = True
    device.test_device_name = clean
    device.save(update_fields=["is_test_device", "test_device_name", "updated_at"])
    audit_record(
        actor=actor,
        action="test_device.marked",
        target=device,
        summary=f"Device {device.installation_id} marked as test device “{clean}”",
        details={"app_id": app.id},
    )
    return device


@transaction.atomic
def test_device_unmark(*, app: MobileApp, device_id: int, actor: User | None) -> Device:
    device = Device.objects.select_for_update().filter(app=app, id=device_id).first()
    if device is None:
        raise ValidationError(
            {"device_id": [gettext("No registered device with this id in this app.")]}
        )
    device.is_test_device = False
    device.test_device_name = ""
    device.save(update_fields=["is_test_device", "test_device_name", "updated_at"])
    audit_record(
        actor=actor,
        action="test_device.unmarked",
        target=device,
        summary=f"Device {device.installation_id} is no longer a test device",
        details={"app_id": app.id},
    )
    return device


def test_devices_of(app_id: int) -> QuerySet[Device]:
    return (
        Device.objects.filter(app_id=app_id, is_test_device=True)
        .select_related("lead")
        .order_by("test_device_name", "id")
    )


def pairings_open(app: MobileApp) -> QuerySet[TestDevicePairing]:
    return TestDevicePairing.objects.filter(
        app=app, paired_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")
