# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

import pytest
from django.test import Client

from tests.api_fixtures import (  # noqa: F401 - fixtures
    IOS_TOKEN,
    SdkClient,
    basic_auth,
    clean_cache,
    sdk,
    sdk_app,
    throttle_claim_statements,
)
from tests.factories import DeviceFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


def read(sdk: SdkClient, installation_id: str):
    return sdk.client.get(f"/api/sdk/v1/devices/{installation_id}", HTTP_AUTHORIZATION=sdk.auth)


def test_app_reads_its_device_as_the_other_device_calls_answer_it(sdk):
    sdk.register("inst-1", push_token=IOS_TOKEN)
    associated = sdk.post("devices/inst-1/lead", {"email": "jane@example.com"})
    response = read(sdk, "inst-1")
    assert response.status_code == 200
    assert response.json() == associated.json()
    assert response.json() == {
        "installation_id": "inst-1",
        "platform": "ios",
        "status": "active",
        "status_reason": "",
        "push_enabled": True,
        "has_push_token": True,
        "lead_email": "jane@example.com",
        "lead_external_id": None,
        "is_test_device": False,
        "test_device_name": "",
    }


def test_anonymous_device_reads_with_no_lead(sdk):
    sdk.register("inst-1")
    body = read(sdk, "inst-1").json()
    assert (body["lead_email"], body["has_push_token"]) == (None, False)


def test_another_apps_installation_is_404_like_an_unknown_one(sdk, sdk_app):
    theirs = DeviceFactory(installation_id="theirs")
    DeviceFactory(app=sdk_app, installation_id="shared")
    elsewhere = DeviceFactory(installation_id="shared", lead=None)
    for installation_id in (theirs.installation_id, "nobody"):
        response = read(sdk, installation_id)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # The same id in two apps: each app reads its own.
    assert read(sdk, "shared").json()["lead_email"] is not None
    assert read(SdkClient(elsewhere.app.sdk_key), "shared").json()["lead_email"] is None


def test_reading_needs_the_apps_key_and_secret(sdk, sdk_app):
    sdk.register("inst-1")
    assert Client().get("/api/sdk/v1/devices/inst-1").status_code == 401
    wrong = Client(HTTP_AUTHORIZATION=basic_auth(sdk_app.sdk_key, "wrong-secret"))
    assert wrong.get("/api/sdk/v1/devices/inst-1").status_code == 401
    other_app = MobileAppFactory()
    assert read(SdkClient(other_app.sdk_key), "inst-1").status_code == 404


def test_read_is_two_queries(sdk, django_assert_max_num_queries):
    sdk.register("inst-1", push_token=IOS_TOKEN)
    # the app by key (the secret is checked on every read), the device with its lead
    with django_assert_max_num_queries(2 + throttle_claim_statements()) as captured:
        assert read(sdk, "inst-1").status_code == 200
    real = [q["sql"] for q in captured.captured_queries if "ratecounter" not in q["sql"]]
    assert len(real) == 2, real
