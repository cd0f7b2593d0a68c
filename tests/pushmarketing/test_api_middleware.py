"""Every /api/ answer is JSON in the APIs' error shape, including those no API view gives."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from tests.api_fixtures import bearer_client
from tests.campaign_fixtures import make_campaign

pytestmark = pytest.mark.django_db


def error(response) -> dict[str, str]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


@pytest.fixture
def api(addon_on, marketer_user, clean_cache) -> Client:
    return bearer_client(marketer_user)[0]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api/sdk/v1/devices/x/nope"])
def test_unknown_api_url_is_a_json_404(path, debug):
    with override_settings(DEBUG=debug):
        response = Client().get(path)
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": f"No API endpoint at {path}."}


@override_settings(DEBUG=False)
def test_other_unknown_urls_keep_the_html_page():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_missing_object_is_a_json_404_with_its_code(api):
    response = api.get("/api/v1/apps/" + str(10**30))
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_method_a_view_refuses_is_a_json_405_with_allow(api):
    response = api.delete("/api/v1/campaigns")
    assert response.status_code == 405
    assert error(response)["code"] == "method_not_allowed"
    # The schema view renders OpenAPI, not JSON errors, by itself.
    response = Client().post("/api/schema/")
    assert response.status_code == 405
    assert error(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_non_json_body_is_a_json_415(api, sdk, app, push):
    campaign = make_campaign(app=app, notification=push)
    url = f"/api/v1/campaigns/{campaign.pk}/trigger"
    response = api.post(url, "a=b", content_type="text/plain")
    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"
    response = sdk.client.post(
        "/api/sdk/v1/devices/register",
        "a=b",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=sdk.auth,
    )
    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024)
def test_body_over_the_upload_cap_is_a_json_413(api):
    body = json.dumps({"idempotency_key": "x" * (5 * 1024 * 1024)})
    response = api.post("/api/v1/campaigns/1/trigger", body, content_type="application/json")
    assert response.status_code == 413
    assert error(response) == {
        "code": "request_too_large",
        "message": "Request body is larger than 1024 KiB.",
    }
