from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from devices.models import Device, DeviceActivity
from tests.api_fixtures import bearer_client, clear_throttle_counts, throttle_claim_statements
from tests.factories import DeviceFactory, LeadFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    clear_throttle_counts()


@pytest.fixture
def api(addon_on, marketer_user) -> Client:
    return bearer_client(marketer_user)[0]


def record(device: Device, minutes: int, kind: str = "opened", **fields) -> DeviceActivity:
    return DeviceActivity.objects.create(
        app_id=device.app_id,
        device=device,
        lead_id=device.lead_id,
        kind=kind,
        occurred_at=T0 + timedelta(minutes=minutes),
        **fields,
    )


def device_path(device: Device, suffix: str = "") -> str:
    return f"/api/v1/apps/{device.app_id}/devices/{device.installation_id}{suffix}"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def error(response) -> dict:
    return response.json()["error"]


# --- one device -------------------------------------------------------------------------------


def test_device_is_read_by_installation_id_within_its_app(api):
    mine = DeviceFactory(installation_id="shared-install")
    theirs = DeviceFactory(installation_id="shared-install", lead=None)
    body = api.get(device_path(mine)).json()
    assert (body["id"], body["app"], body["lead_email"]) == (mine.pk, mine.app_id, mine.lead.email)
    assert body["eligible"] is False  # no credentials for the platform
    assert [r["code"] for r in body["not_eligible_reasons"]] == ["app_not_configured"]
    other = api.get(device_path(theirs)).json()
    assert (other["id"], other["lead_email"]) == (theirs.pk, None)


@pytest.mark.parametrize(
    "case", ["unknown_installation", "other_app", "no_app", "app_past_64_bits"]
)
def test_device_of_no_app_or_of_another_app_is_404(api, case):
    device = DeviceFactory()
    app_id, installation_id = device.app_id, device.installation_id
    if case == "unknown_installation":
        installation_id = "nobody"
    elif case == "other_app":
        app_id = DeviceFactory().app_id
    elif case == "no_app":
        app_id = 999999
    else:
        app_id = 10**30
    for suffix in ("", "/activities"):
        response = api.get(f"/api/v1/apps/{app_id}/devices/{installation_id}{suffix}")
        assert response.status_code == 404, suffix
        assert error(response)["code"] == "not_found"


def test_device_read_is_one_query_after_access_checks(api, django_assert_max_num_queries):
    device = DeviceFactory()
    # auth, token touch, roles, add-on; then the device with app, lead and app_configured
    with django_assert_max_num_queries(5 + throttle_claim_statements()) as captured:
        assert api.get(device_path(device)).status_code == 200
    assert len(registry_queries(captured)) == 1


# --- a device's activities --------------------------------------------------------------------


def test_device_activities_are_newest_first_and_paginated(api):
    device = DeviceFactory()
    rows = [record(device, minutes) for minutes in (3, 1, 4, 2, 5)]
    record(DeviceFactory(app=device.app), 10)  # another device of the app
    record(DeviceFactory(installation_id=device.installation_id), 11)  # same id, other app
    newest_first = [r.pk for r in sorted(rows, key=lambda r: r.occurred_at, reverse=True)]
    first = api.get(device_path(device, "/activities"), {"page_size": 2})
    body = first.json()
    assert (body["count"], ids(first)) == (5, newest_first[:2])
    assert body["previous"] is None and "page=2" in body["next"]
    assert ids(api.get(device_path(device, "/activities"), {"page_size": 2, "page": 3})) == [
        newest_first[4]
    ]
    past_the_end = api.get(device_path(device, "/activities"), {"page_size": 2, "page": 4})
    assert past_the_end.status_code == 404


def test_activities_with_the_same_time_keep_a_stable_order(api):
    device = DeviceFactory()
    rows = [record(device, 0) for _ in range(3)]
    assert ids(api.get(device_path(device, "/activities"))) == [r.pk for r in reversed(rows)]


def test_device_activity_rows_say_what_happened(api):
    device = DeviceFactory()
    tap = record(device, 1, "push_tapped", delivery_id=98431)
    [row] = api.get(device_path(device, "/activities")).json()["results"]
    assert row == {
        "id": tap.pk,
        "kind": "push_tapped",
        "occurred_at": "2026-11-02T12:01:00Z",
        "app": device.app_id,
        "device": device.pk,
        "installation_id": device.installation_id,
        "lead": device.lead_id,
        "action_name": "",
        "action_type": "",
        "details": "",
        "metric": None,
        "length_seconds": None,
        "delivery_id": 98431,
        "created_at": row["created_at"],
    }


def test_activities_filter_by_kind_and_half_open_time_range(api):
    device = DeviceFactory()
    opened = [record(device, minutes) for minutes in (0, 10, 20)]
    tapped = record(device, 10, "push_tapped", delivery_id=1)
    path = device_path(device, "/activities")
    assert ids(api.get(path, {"kind": "push_tapped"})) == [tapped.pk]
    window = {"since": "2026-11-02T12:10:00Z", "until": "2026-11-02T12:20:00Z"}
    assert ids(api.get(path, window)) == [tapped.pk, opened[1].pk]
    assert ids(api.get(path, {**window, "kind": "opened"})) == [opened[1].pk]
    # An offset is honoured: 13:10+01:00 is 12:10 UTC.
    assert ids(api.get(path, {"since": "2026-11-02T13:10:00+01:00", "kind": "opened"})) == [
        opened[2].pk,
        opened[1].pk,
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "exploded"}, "kind"),
        ({"since": "yesterday"}, "since"),
        ({"since": "1900-01-01T00:00:00Z"}, "since"),
        ({"until": "2100-01-01T00:00:01Z"}, "until"),
        ({"until": "9999-12-31T23:59:59-05:00"}, "until"),
        ({"since": "2026-11-02T12:00:00Z", "until": "2026-11-02T12:00:00Z"}, "until"),
        ({"page": "0"}, "page"),
        ({"page": str(10**30)}, "page"),
        ({"page_size": "201"}, "page_size"),
        ({"knd": "opened"}, "knd"),
    ],
)
def test_bad_activity_parameters_are_400_naming_the_field(api, params, field):
    device = DeviceFactory()
    lead_path = f"/api/v1/leads/{device.lead_id}/activities"
    for path in (device_path(device, "/activities"), lead_path):
        response = api.get(path, params)
        assert response.status_code == 400, (path, response.content)
        assert error(response)["code"] == "invalid"
        assert list(error(response)["fields"]) == [field]


def registry_queries(captured: CaptureQueriesContext) -> list[str]:
    """The statements reading the device registry (not auth, roles, add-on or throttle)."""
    return [q["sql"] for q in captured.captured_queries if '"devices_' in q["sql"]]


def test_device_activity_pages_are_three_queries_whatever_the_rows(api):
    device = DeviceFactory()
    for batch in (3, 40):
        for minutes in range(batch):
            record(device, minutes, "custom_action", action_name="tap")
        with CaptureQueriesContext(connection) as captured:
            response = api.get(device_path(device, "/activities"), {"kind": "custom_action"})
        assert len(response.json()["results"]) == DeviceActivity.objects.count()
        # the device, the paginator's count, the page (installation ids joined)
        assert len(registry_queries(captured)) == 3, registry_queries(captured)


# --- a lead's activities ----------------------------------------------------------------------


def test_lead_activities_span_its_devices_in_every_app(api):
    lead = LeadFactory()
    phone = DeviceFactory(lead=lead)
    tablet = DeviceFactory(lead=lead)  # another app
    mine = [record(phone, 1), record(tablet, 2, "session", length_seconds=30), record(phone, 3)]
    record(DeviceFactory(), 4)  # someone else
    response = api.get(f"/api/v1/leads/{lead.pk}/activities")
    assert ids(response) == [r.pk for r in reversed(mine)]
    installs = [row["installation_id"] for row in response.json()["results"]]
    assert installs == [phone.installation_id, tablet.installation_id, phone.installation_id]
    only_sessions = api.get(f"/api/v1/leads/{lead.pk}/activities", {"kind": "session"})
    assert ids(only_sessions) == [mine[1].pk]


def test_lead_activities_keep_what_the_lead_did_on_a_device_it_left(api):
    # An activity belongs to the lead the device had then: a logout does not move it.
    lead = LeadFactory()
    device = DeviceFactory(lead=lead)
    before = record(device, 1)
    device.lead = LeadFactory()
    device.save(update_fields=["lead"])
    after = record(device, 2)
    assert ids(api.get(f"/api/v1/leads/{lead.pk}/activities")) == [before.pk]
    assert ids(api.get(device_path(device, "/activities"))) == [after.pk, before.pk]


@pytest.mark.parametrize("lead_id", ["999999", str(10**30)])
def test_unknown_lead_is_404(api, lead_id):
    response = api.get(f"/api/v1/leads/{lead_id}/activities")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_lead_activity_pages_are_three_queries_whatever_the_rows(api):
    lead = LeadFactory()
    devices = DeviceFactory.create_batch(3, lead=lead)
    for batch in (1, 15):
        for device in devices:
            for minutes in range(batch):
                record(device, minutes)
        with CaptureQueriesContext(connection) as captured:
            response = api.get(f"/api/v1/leads/{lead.pk}/activities", {"page_size": 200})
        assert len(response.json()["results"]) == DeviceActivity.objects.count()
        # the lead, the paginator's count, the page (installation ids joined)
        assert len(registry_queries(captured)) == 3, registry_queries(captured)


# --- access -----------------------------------------------------------------------------------


def test_reads_need_a_token_and_an_admin_or_marketer(addon_on, approver_user, admin_user):
    device = DeviceFactory()
    paths = [
        device_path(device),
        device_path(device, "/activities"),
        f"/api/v1/leads/{device.lead_id}/activities",
    ]
    for path in paths:
        assert Client().get(path).status_code == 401
        assert bearer_client(approver_user)[0].get(path).status_code == 403
        assert bearer_client(admin_user)[0].get(path).status_code == 200


def test_reads_stay_open_while_the_add_on_is_off_as_the_registry_does(marketer_user):
    device = DeviceFactory()
    client = bearer_client(marketer_user)[0]
    assert client.get("/api/v1/campaigns").status_code == 403  # the add-on is off
    paths = [
        device_path(device),
        device_path(device, "/activities"),
        f"/api/v1/leads/{device.lead_id}/activities",
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path
