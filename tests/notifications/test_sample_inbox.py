from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.simulator_views import _phone_view

pytestmark = pytest.mark.django_db


def test_inbox_is_hidden_when_simulator_disabled(addon_on, marketer_client, settings):
    url = reverse("simulator-inbox")  # routed: the URLconf was loaded with the simulator on
    settings.PUSH_SIMULATOR_ENABLED = False
    assert marketer_client.get(url).status_code == 404


def test_inbox_is_for_marketers_and_admins(addon_on, approver_client):
    assert approver_client.get(reverse("simulator-inbox")).status_code == 403


def test_inbox_explains_when_simulator_is_down(addon_on, marketer_client, settings):
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.PUSH_SIMULATOR_HOST = "127.0.0.1"
    settings.PUSH_SIMULATOR_FCM_PORT = 9  # discard port: nothing listens
    page = marketer_client.get(reverse("simulator-inbox")).content.decode()
    assert "The simulator could not be reached" in page


def test_phone_view_reads_both_providers():
    fcm = _phone_view(
        {
            "provider": "fcm",
            "received_at": 0,
            "message": {"notification": {"title": "T", "body": "B", "image": "https://i/x.png"}},
        }
    )
    apns = _phone_view(
        {
            "provider": "apns",
            "received_at": 0,
            "message": {"aps": {"alert": {"title": "T", "subtitle": "S", "body": "B"}}},
        }
    )
    assert (fcm["title"], fcm["body"], fcm["image"]) == ("T", "B", "https://i/x.png")
    assert (apns["title"], apns["subtitle"], apns["body"]) == ("T", "S", "B")


def _run_with_delivery(device):
    """A campaign run with one sent delivery to `device`, written by the ledger."""
    from django.utils import timezone

    from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
    from campaigns.ledger.runs import run_open
    from campaigns.models import CampaignRun
    from notifications.content import PushContent
    from tests.factories import PushNotificationFactory

    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.COMPLETED,
        notification_id=PushNotificationFactory(app=device.app).pk,
        app_id=device.app_id,
        content=PushContent(message="hi").to_dict(),
        now=timezone.now(),
    )
    written = deliveries_insert_returning(
        run_id=run.pk,
        rows=[NewDelivery(device_id=device.pk, lead_id=None, platform=device.platform,
                          status="sent", reason="")],
        now=timezone.now(),
    )  # fmt: skip
    return run, written[device.pk]


@pytest.fixture
def phone(monkeypatch, settings):
    """An Android device whose simulator inbox holds one campaign push (receipts faked)."""
    import time

    from tests.factories import DeviceFactory

    settings.PUSH_SIMULATOR_ENABLED = True
    device = DeviceFactory(platform="android", push_token="ok-phone-1")
    run, delivery_id = _run_with_delivery(device)
    sent_at = time.time()
    receipt = {
        "provider": "fcm",
        "token": device.push_token,
        "received_at": sent_at,
        "message": {
            "notification": {"title": "Spring sale", "body": "20% off"},
            "data": {"pm_delivery_id": str(delivery_id), "pm_run_id": str(run.pk)},
        },
    }
    monkeypatch.setattr(
        "notifications.simulator.client.receipts", lambda token=None, limit=100: [receipt]
    )
    return device, run, delivery_id, receipt


def test_inbox_json_renders_the_phones(addon_on, marketer_client, phone):
    data = marketer_client.get(reverse("simulator-inbox-json")).json()
    assert "Spring sale" in data["html"]
    assert ">Tap</button>" in data["html"] and data["error"] == ""


def test_a_tap_on_a_virtual_phone_counts_on_the_run(addon_on, marketer_client, phone):
    from campaigns.models import CampaignRun, Delivery
    from devices.models import DeviceActivity

    device, run, delivery_id, _ = phone
    response = marketer_client.post(
        reverse("simulator-push-feedback"),
        {"token": device.push_token, "delivery_id": delivery_id, "kind": "tapped"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    assert "Tapped ✓" in response.json()["html"]
    run = CampaignRun.objects.get(pk=run.pk)
    assert (run.tapped_android, run.received_android) == (1, 1)  # a tap proves receipt
    assert Delivery.objects.get(pk=delivery_id).tapped_at is not None
    assert DeviceActivity.objects.filter(
        device=device, kind="push_tapped", delivery_id=delivery_id
    ).exists()


def test_a_phone_cannot_report_another_phones_push(addon_on, marketer_client, phone):
    from tests.factories import DeviceFactory

    _, _, delivery_id, _ = phone
    other = DeviceFactory(platform="android", push_token="ok-phone-2")
    response = marketer_client.post(
        reverse("simulator-push-feedback"),
        {"token": other.push_token, "delivery_id": delivery_id, "kind": "received"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "No delivery with this id was sent to this device" in response.json()["message"]


def test_feedback_is_for_marketers(addon_on, approver_client, phone):
    device, _, delivery_id, _ = phone
    response = approver_client.post(
        reverse("simulator-push-feedback"),
        {"token": device.push_token, "delivery_id": delivery_id, "kind": "tapped"},
    )
    assert response.status_code == 403


def test_foreground_shows_new_pushes_as_in_app_banners(addon_on, marketer_client, phone):
    device, _, _, receipt = phone
    url = reverse("simulator-foreground")
    marketer_client.post(url, {"token": device.push_token, "foreground": "1"})
    receipt["received_at"] += 5  # arrives while the app is in the foreground
    html = marketer_client.get(reverse("simulator-inbox")).content.decode()
    assert "In-app banner · app in foreground" in html
    assert 'aria-checked="true"' in html
    marketer_client.post(url, {"token": device.push_token, "foreground": "0"})
    receipt["received_at"] += 5  # after the app went to the background
    html = marketer_client.get(reverse("simulator-inbox")).content.decode()
    assert "In-app banner" not in html
