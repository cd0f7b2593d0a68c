from __future__ import annotations

import pytest
from django.urls import reverse

from devices.models import Device
from devices.models import TestDevicePairing as Pairing
from pushmarketing.core.models import AuditEntry
from tests.factories import DeviceFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():  # noqa: ANN201
    return MobileAppFactory(name="Shop")


def test_admin_creates_pairing_link_and_qr(addon_on, admin_client, app, settings):
    settings.SITE_URL = "https://push.example.com"
    response = admin_client.post(
        reverse("test-device-pairing-create", args=[app.pk]), {"name": "Dana's iPhone"}
    )

    pairing = Pairing.objects.get(app=app)
    assert response.status_code == 302
    assert pairing.name == "Dana's iPhone" and len(pairing.code) == 16
    page = admin_client.get(response["Location"]).content.decode()
    assert f"https://push.example.com/pair/{pairing.code}" in page
    qr = admin_client.get(reverse("test-device-pairing-qr", args=[app.pk, pairing.pk]))
    assert qr["Content-Type"] == "image/png" and qr.content.startswith(b"\x89PNG")
    assert AuditEntry.objects.filter(action="test_device.pairing_created").exists()


def test_pairing_needs_a_name(addon_on, admin_client, app):
    response = admin_client.post(
        reverse("test-device-pairing-create", args=[app.pk]), {"name": "  "}, follow=True
    )
    assert "Give the test device a name" in response.content.decode()
    assert not Pairing.objects.exists()


def test_pair_landing_page_explains_and_is_public(client, app, admin_user):
    from devices.services.test_devices import test_device_pairing_create

    pairing = test_device_pairing_create(app=app, name="Lab Pixel", actor=admin_user)
    page = client.get(reverse("pair-landing", args=[pairing.code])).content.decode()
    assert "Lab Pixel" in page and "Shop" in page
    assert "not valid" in client.get(reverse("pair-landing", args=["nope"])).content.decode()


def test_mark_and_unmark_registered_device(addon_on, admin_client, app):
    device = DeviceFactory(app=app)
    setup = reverse("app-push-setup", args=[app.pk])

    admin_client.post(
        reverse("test-device-mark", args=[app.pk]), {"device_id": device.pk, "name": "QA phone"}
    )
    device.refresh_from_db()
    assert (device.is_test_device, device.test_device_name) == (True, "QA phone")
    assert "QA phone" in admin_client.get(setup).content.decode()

    admin_client.post(reverse("test-device-unmark", args=[app.pk, device.pk]))
    device.refresh_from_db()
    assert (device.is_test_device, device.test_device_name) == (False, "")


def test_device_of_another_app_cannot_be_marked(addon_on, admin_client, app):
    foreign = DeviceFactory()
    response = admin_client.post(
        reverse("test-device-mark", args=[app.pk]),
        {"device_id": foreign.pk, "name": "Sneaky"},
        follow=True,
    )
    assert "No registered device with this id in this app" in response.content.decode()
    assert Device.objects.get(pk=foreign.pk).is_test_device is False


def test_test_device_pages_are_admin_only(addon_on, marketer_client, app):
    device = DeviceFactory(app=app)
    assert marketer_client.get(reverse("app-push-setup", args=[app.pk])).status_code == 403
    response = marketer_client.post(
        reverse("test-device-mark", args=[app.pk]), {"device_id": device.pk, "name": "x"}
    )
    assert response.status_code == 403
    assert (
        marketer_client.post(reverse("test-device-pairing-create", args=[app.pk]), {"name": "x"})
    ).status_code == 403
    device.refresh_from_db()
    assert device.is_test_device is False


def test_push_setup_empty_states(addon_on, admin_client, app):
    page = admin_client.get(reverse("app-push-setup", args=[app.pk])).content.decode()
    assert "No test devices yet" in page
    assert "None uploaded" in page
