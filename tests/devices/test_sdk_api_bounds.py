"""Every SDK input is bounded: integers a column can hold, dates in a sane range, strings
that are strings, no field the schema does not declare, no nesting that recurses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import Device, DeviceActivity, Lead, MobileApp
from tests.api_fixtures import IOS_TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(sdk, sdk_app) -> Device:
    assert sdk.register("inst-1", push_token=IOS_TOKEN).status_code == 201
    return Device.objects.get(installation_id="inst-1")


def fields(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_delivery_id_past_64_bits_is_400_naming_the_field(sdk, device):
    body = {"kind": "push_tapped", "delivery_id": 2**63}
    assert fields(sdk.post("devices/inst-1/activities", body)) == {
        "activities.0.delivery_id": [
            "Ensure this value is less than or equal to 9223372036854775807."
        ]
    }


def test_deeply_nested_activities_body_is_400_not_a_recursion_error(sdk, device):
    body = "[" * 5000 + "]" * 5000
    response = sdk.post("devices/inst-1/activities", body)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "JSON nested deeper than 32 levels.",
    }


@pytest.mark.parametrize(
    ("occurred_at", "error"),
    [
        ("1900-01-01T00:00:00Z", "Must not be before 2000-01-01."),
        ("1999-12-31T23:59:59Z", "Must not be before 2000-01-01."),
        ("0001-01-01T00:00:00+01:00", "Datetime value out of range."),
    ],
)
def test_occurred_at_out_of_range_is_refused(sdk, device, occurred_at, error):
    body = {"kind": "opened", "occurred_at": occurred_at}
    assert fields(sdk.post("devices/inst-1/activities", body)) == {
        "activities.0.occurred_at": [error]
    }


def test_occurred_at_in_range_is_recorded(sdk, device):
    for when in ("2000-01-01T00:00:00Z", (timezone.now() + timedelta(minutes=4)).isoformat()):
        response = sdk.post("devices/inst-1/activities", {"kind": "opened", "occurred_at": when})
        assert response.status_code == 201, response.content
    late = (timezone.now() + timedelta(minutes=6)).isoformat()
    assert fields(sdk.post("devices/inst-1/activities", {"kind": "opened", "occurred_at": late}))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("devices/register", {"installation_id": 12345, "platform": "ios"}, "installation_id"),
        ("devices/register", {"installation_id": "i-2", "platform": "ios", "locale": 1}, "locale"),
        ("devices/register", {"installation_id": "i-2", "platform": "ios", "app_version": 3.2}, "app_version"),
        ("devices/inst-1/token", {"push_token": 12345678}, "push_token"),
        ("devices/inst-1/lead", {"email": "a@b.co", "first_name": 7}, "first_name"),
        ("devices/inst-1/activities", {"kind": "custom_action", "action_name": 42}, "activities.0.action_name"),
        ("test-devices/pair", {"installation_id": "inst-1", "code": 123456}, "code"),
    ],
)  # fmt: skip
def test_numbers_in_string_fields_are_refused(sdk, device, path, body, field):
    assert fields(sdk.post(path, body)) == {field: ["Must be a string."]}


@pytest.mark.parametrize(
    ("path", "body", "unknown"),
    [
        ("devices/register", {"installation_id": "inst-1", "platform": "ios", "pushtoken": IOS_TOKEN}, ["pushtoken"]),
        ("devices/inst-1/token", {"push_token": IOS_TOKEN, "enabled": True, "x": 1}, ["enabled", "x"]),
        ("devices/inst-1/lead", {"email": "a@b.co", "name": "Ann"}, ["name"]),
        ("devices/inst-1/activities", {"kind": "opened", "when": "now"}, ["activities.0.when"]),
        ("devices/inst-1/activities", {"activities": [{"kind": "opened"}], "v": 2}, ["v"]),
        ("test-devices/pair", {"installation_id": "inst-1", "code": "123456", "n": "x"}, ["n"]),
    ],
)  # fmt: skip
def test_unknown_fields_are_400_naming_them(sdk, device, path, body, unknown):
    assert fields(sdk.post(path, body)) == {name: ["Unknown field."] for name in unknown}
    assert DeviceActivity.objects.filter(device=device).count() == 3  # installed, opened, token


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**63, "Value of 'points' must fit in 64 bits."),
        (-(2**63) - 1, "Value of 'points' must fit in 64 bits."),
        # Valid JSON that Python reads as infinity, which jsonb cannot store.
        ("1e999", "Value must be valid JSON."),
    ],
)
def test_custom_field_numbers_are_bounded(sdk, device, value, error):
    raw = value if isinstance(value, str) else json.dumps(value)
    body = '{"email": "a@b.co", "custom_fields": {"points": ' + raw + "}}"
    assert fields(sdk.post("devices/inst-1/lead", body)) == {"custom_fields": [error]}
    assert not Lead.objects.exists()


def test_widest_custom_field_integer_is_stored(sdk, sdk_app, device):
    MobileApp.objects.filter(pk=sdk_app.pk).update(sdk_writable_custom_fields=["points"])
    body = {"email": "a@b.co", "custom_fields": {"points": 2**63 - 1}}
    assert sdk.post("devices/inst-1/lead", body).status_code == 200
    assert Lead.objects.get().custom_fields == {"points": 2**63 - 1}
