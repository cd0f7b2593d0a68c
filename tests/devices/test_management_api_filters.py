from __future__ import annotations

import pytest
from django.test import Client

from devices.models import Device
from tests.api_fixtures import bearer_client, clear_throttle_counts, throttle_claim_statements
from tests.campaign_fixtures import configure_app
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    clear_throttle_counts()


@pytest.fixture
def api(addon_on, marketer_user) -> Client:
    return bearer_client(marketer_user)[0]


def listed(api: Client, **params) -> set[int]:
    response = api.get("/api/v1/devices", {"page_size": 200, **params})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_installation_id_finds_the_device_in_every_app(api):
    one = DeviceFactory(installation_id="6f1c2b1e-4d1a")
    two = DeviceFactory(installation_id="6f1c2b1e-4d1a")
    DeviceFactory(installation_id="6f1c2b1e-4d1b")
    assert listed(api, installation_id="6f1c2b1e-4d1a") == {one.pk, two.pk}
    assert listed(api, installation_id="6f1c2b1e-4d1a", app=two.app_id) == {two.pk}
    assert listed(api, installation_id="6f1c2b1e") == set()  # exact, not a prefix


def test_platform_filter(api):
    ios = DeviceFactory(platform="ios", push_token="ab" * 32)
    android = DeviceFactory(platform="android")
    assert listed(api, platform="ios") == {ios.pk}
    assert listed(api, platform="android") == {android.pk}


def test_eligible_filter_is_the_rule_the_rows_show(api):
    app = configure_app(MobileAppFactory(), platforms=("android",))
    eligible = DeviceFactory.create_batch(2, app=app)
    not_eligible = [
        DeviceFactory(app=app, lead=None),
        DeviceFactory(app=app, push_token=""),
        DeviceFactory(app=app, push_enabled=False),
        DeviceFactory(app=app, status=Device.Status.TOKEN_INVALID),
        DeviceFactory(app=app, status=Device.Status.UNREGISTERED, push_token=""),
        DeviceFactory(app=app, first_opened_at=None),
        DeviceFactory(app=app, platform="ios", push_token="ab" * 32),  # no APNs credentials
        DeviceFactory(),  # an app with no credentials at all
    ]
    rows = api.get("/api/v1/devices", {"page_size": 200}).json()["results"]
    shown_eligible = {row["id"] for row in rows if row["eligible"]}
    assert shown_eligible == {d.pk for d in eligible}
    assert listed(api, eligible="true") == shown_eligible
    assert listed(api, eligible="false") == {d.pk for d in not_eligible}
    assert listed(api, eligible="false", app=app.pk) == {d.pk for d in not_eligible[:-1]}


def test_lead_email_filter_is_case_insensitive_and_exact(api):
    lead = LeadFactory(email="Nina@Example.com")
    phone, tablet = DeviceFactory.create_batch(2, lead=lead)
    DeviceFactory(lead=LeadFactory(email="nina@example.co"))
    DeviceFactory(lead=None)
    assert listed(api, lead_email="nina@example.com") == {phone.pk, tablet.pk}
    assert listed(api, lead_email="NINA@EXAMPLE.COM", app=tablet.app_id) == {tablet.pk}
    assert listed(api, lead_email="nobody@example.com") == set()


def test_lead_external_id_filter_is_exact(api):
    lead = LeadFactory(external_id="user-42")
    device = DeviceFactory(lead=lead)
    DeviceFactory(lead=LeadFactory(external_id="user-420"))
    DeviceFactory(lead=LeadFactory(external_id="USER-42"))
    response = api.get("/api/v1/devices", {"lead_external_id": "user-42"})
    assert [row["id"] for row in response.json()["results"]] == [device.pk]
    assert response.json()["results"][0]["lead_external_id"] == "user-42"
    assert listed(api, lead_external_id="user-4") == set()


def test_filters_combine(api):
    app = configure_app(MobileAppFactory(), platforms=("android",))
    lead = LeadFactory()
    wanted = DeviceFactory(app=app, lead=lead, installation_id="abc")
    DeviceFactory(app=app, lead=lead, installation_id="abc-2")
    DeviceFactory(app=app, lead=lead, installation_id="abc-3", push_enabled=False)
    params = {"platform": "android", "eligible": "true", "lead_email": lead.email}
    assert listed(api, **params, installation_id="abc") == {wanted.pk}
    assert listed(api, **params, installation_id="abc-3") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"installation_id": "has space"}, "installation_id"),
        ({"installation_id": "x" * 65}, "installation_id"),
        ({"eligible": "maybe"}, "eligible"),
        ({"lead_email": "not-an-email"}, "lead_email"),
        ({"lead_external_id": "x" * 256}, "lead_external_id"),
        ({"lead_external_id": "tab\there"}, "lead_external_id"),
        ({"platform": "windows"}, "platform"),
        ({"page_size": "1000"}, "page_size"),
        ({"plaform": "ios"}, "plaform"),
    ],
)
def test_bad_device_filters_are_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/devices", params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_filtered_pages_do_not_query_per_row(api, django_assert_max_num_queries):
    app = configure_app(MobileAppFactory(), platforms=("android",))
    DeviceFactory.create_batch(25, app=app)
    DeviceFactory.create_batch(5, app=app, lead=None)
    # auth, token touch, roles, add-on, count, devices (app, lead and credentials joined)
    with django_assert_max_num_queries(6 + throttle_claim_statements()):
        page = api.get("/api/v1/devices", {"eligible": "false", "page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2
