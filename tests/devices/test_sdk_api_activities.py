# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery
from devices.models import Device, DeviceActivity
from devices.models import TestDevicePairing as Pairing
from tests.api_fixtures import IOS_TOKEN, SdkClient, clean_cache, sdk, sdk_app  # noqa: F401
from tests.delivery_fixtures import delivery_recorded
from tests.factories import DeviceFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


def make_delivery(device: Device) -> Delivery:
    return delivery_recorded(device=device)


@pytest.fixture
def device(sdk, sdk_app) -> Device:
    sdk.register("inst-1", push_token=IOS_TOKEN)
    return Device.objects.get(installation_id="inst-1")


def test_single_activity_object_is_recorded(sdk, device):
    response = sdk.post("devices/inst-1/activities", {"kind": "session", "length_seconds": 42})
    assert response.status_code == 201, response.content
    activity = DeviceActivity.objects.get(pk=response.json()["activity_ids"][0])
    assert (activity.kind, activity.length_seconds, activity.device) == ("session", 42, device)


def test_list_of_activities_is_recorded_in_order(sdk, device):
    occurred = (timezone.now() - timedelta(hours=1)).isoformat()
    body = [
        {"kind": "custom_action", "action_name": "Added to cart", "metric": 2.5, "details": "x"},
        {"kind": "opened", "occurred_at": occurred},
    ]
    response = sdk.post("devices/inst-1/activities", body)
    assert response.status_code == 201
    ids = response.json()["activity_ids"]
    rows = list(DeviceActivity.objects.filter(pk__in=ids).order_by("pk"))
    assert [r.kind for r in rows] == ["custom_action", "opened"]
    assert rows[0].action_name == "Added to cart" and rows[0].metric == 2.5
    assert rows[1].occurred_at.isoformat() == occurred


def test_activity_rules_name_the_field(sdk, device):
    body = {
        "activities": [
            {"kind": "custom_action", "action_name": "x" * 20},
            {"kind": "session"},
            {"kind": "opened", "occurred_at": (timezone.now() + timedelta(minutes=10)).isoformat()},
            {"kind": "installed"},
        ]
    }
    response = sdk.post("devices/inst-1/activities", body)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "no more than 19" in fields["activities.0.action_name"][0]
    assert fields["activities.1.length_seconds"] == ["Required for a session activity."]
    assert "5 minutes in the future" in fields["activities.2.occurred_at"][0]
    assert "not a valid choice" in fields["activities.3.kind"][0]
    assert DeviceActivity.objects.filter(kind="session").count() == 0


def test_more_than_100_activities_is_refused(sdk, device):
    response = sdk.post("devices/inst-1/activities", [{"kind": "opened"}] * 101)
    assert response.status_code == 400
    assert "activities" in response.json()["error"]["fields"]


def test_push_received_and_tapped_update_delivery_and_counters_once(sdk, device):
    delivery = make_delivery(device)
    for _ in range(2):
        body = [
            {"kind": "push_received", "delivery_id": delivery.pk},
            {"kind": "push_tapped", "delivery_id": delivery.pk},
        ]
        assert sdk.post("devices/inst-1/activities", body).status_code == 201
    delivery.refresh_from_db()
    assert delivery.received_at is not None and delivery.tapped_at is not None
    run = CampaignRun.objects.get()
    assert (run.received_ios, run.tapped_ios, run.received_android, run.tapped_android) == (
        1,
        1,
        0,
        0,
    )
    assert DeviceActivity.objects.filter(kind="push_tapped", delivery_id=delivery.pk).count() == 2


def test_tap_without_receipt_counts_as_received_once(sdk, device):
    delivery = make_delivery(device)
    for _ in range(2):
        body = {"kind": "push_tapped", "delivery_id": delivery.pk}
        assert sdk.post("devices/inst-1/activities", body).status_code == 201
    body = {"kind": "push_received", "delivery_id": delivery.pk}
    assert sdk.post("devices/inst-1/activities", body).status_code == 201
    delivery.refresh_from_db()
    assert delivery.received_at is not None and delivery.tapped_at is not None
    run = CampaignRun.objects.get()
    assert (run.received_ios, run.tapped_ios) == (1, 1)


def test_delivery_of_another_device_is_400_and_nothing_is_written(sdk, sdk_app, device):
    other_device = DeviceFactory(app=sdk_app, platform="ios", push_token="cd" * 32)
    foreign = make_delivery(other_device)
    other_app_delivery = make_delivery(DeviceFactory(app=MobileAppFactory()))
    body = [{"kind": "session", "length_seconds": 1}, {"kind": "push_tapped", "delivery_id": 0}]
    for delivery_id in (foreign.pk, other_app_delivery.pk, 999999):
        body[1]["delivery_id"] = delivery_id
        response = sdk.post("devices/inst-1/activities", body)
        assert response.status_code == 400
        assert "activities.1.delivery_id" in response.json()["error"]["fields"]
    foreign.refresh_from_db()
    assert foreign.tapped_at is None
    assert not DeviceActivity.objects.filter(kind="session").exists()


def test_opened_activity_moves_last_opened_at(sdk, device):
    before = device.last_opened_at
    assert sdk.post("devices/inst-1/activities", {"kind": "opened"}).status_code == 201
    device.refresh_from_db()
    assert device.last_opened_at > before


# --- test device pairing ----------------------------------------------------------------------


def make_pairing(app, **kw) -> Pairing:
    defaults = {
        "name": "Jane's iPhone",
        "code": "PAIR1234",
        "expires_at": timezone.now() + timedelta(hours=1),
    }
    return Pairing.objects.create(app=app, **{**defaults, **kw})


def test_pairing_marks_test_device_once(sdk, sdk_app, device):
    pairing = make_pairing(sdk_app)
    response = sdk.post("test-devices/pair", {"installation_id": "inst-1", "code": "PAIR1234"})
    assert response.status_code == 200, response.content
    assert response.json()["test_device_name"] == "Jane's iPhone"
    device.refresh_from_db()
    pairing.refresh_from_db()
    assert device.is_test_device and device.test_device_name == "Jane's iPhone"
    assert pairing.device == device and pairing.paired_at is not None
    again = sdk.post("test-devices/pair", {"installation_id": "inst-1", "code": "PAIR1234"})
    assert again.status_code == 400
    assert "already been used" in again.json()["error"]["fields"]["code"][0]


def test_pairing_refuses_expired_other_app_and_unknown_device(sdk, sdk_app, device):
    make_pairing(sdk_app, code="OLD", expires_at=timezone.now() - timedelta(seconds=1))
    make_pairing(MobileAppFactory(), code="THEIRS")
    make_pairing(sdk_app, code="GOOD")
    cases = [
        ({"installation_id": "inst-1", "code": "OLD"}, "code", "expired"),
        ({"installation_id": "inst-1", "code": "THEIRS"}, "code", "No pairing"),
        ({"installation_id": "nope", "code": "GOOD"}, "installation_id", "register it first"),
    ]
    for body, field, rule in cases:
        response = sdk.post("test-devices/pair", body)
        assert response.status_code == 400
        assert rule in response.json()["error"]["fields"][field][0]
    device.refresh_from_db()
    assert not device.is_test_device
