# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
"""The OpenAPI schema of the device and activity reads says what they answer: real answers are
validated against it, parameters and error statuses are listed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from django.test import Client

from devices.models import DeviceActivity
from tests.api_fixtures import (  # noqa: F401 - fixtures
    SdkClient,
    bearer_client,
    clean_cache,
)
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

DEVICE = "/api/v1/apps/{app_id}/devices/{installation_id}"
DEVICE_ACTIVITIES = DEVICE + "/activities"
LEAD_ACTIVITIES = "/api/v1/leads/{lead_id}/activities"
SDK_DEVICE = "/api/sdk/v1/devices/{installation_id}"


@pytest.fixture
def schema() -> dict[str, Any]:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return json.loads(response.content)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, so jsonschema can check answers."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def assert_matches(schema: dict[str, Any], path: str, status: int, body: Any) -> None:
    content = schema["paths"][path]["get"]["responses"][str(status)]["content"]
    document = {
        **content["application/json"]["schema"],
        "components": _json_schema(schema["components"]),
    }
    jsonschema.validate(body, document)


def parameters(schema: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}


def test_activity_lists_are_documented_as_paginated_with_their_parameters(schema):
    for path in (DEVICE_ACTIVITIES, LEAD_ACTIVITIES):
        operation = schema["paths"][path]["get"]
        assert operation["security"] == [{"bearerToken": []}]
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "429"}
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        paginated = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
        assert set(paginated["properties"]) == {"count", "next", "previous", "results"}
        params = parameters(schema, path)
        assert set(params["kind"]["schema"]["enum"]) == set(DeviceActivity.Kind.values)
        assert params["since"]["schema"]["format"] == "date-time"
        assert params["until"]["schema"]["format"] == "date-time"
        assert params["page"]["schema"]["minimum"] == 1
        assert params["page_size"]["schema"]["maximum"] == 200


def test_device_reads_and_list_filters_are_documented(schema):
    device = schema["paths"][DEVICE]["get"]
    assert set(device["responses"]) == {"200", "401", "403", "404", "429"}
    sdk = schema["paths"][SDK_DEVICE]["get"]
    assert sdk["security"] == [{"sdkBasic": []}]
    assert set(sdk["responses"]) == {"200", "401", "404", "429"}
    listing = schema["paths"]["/api/v1/devices"]["get"]
    assert {"installation_id", "eligible", "lead_email", "page", "page_size"} <= set(
        parameters(schema, "/api/v1/devices")
    )
    assert parameters(schema, "/api/v1/devices")["eligible"]["schema"]["type"] == "boolean"
    assert {"200", "400", "401", "403", "404", "429"} == set(listing["responses"])


def test_real_answers_match_the_schema(schema, addon_on, marketer_user, clean_cache):
    device = DeviceFactory()
    at = datetime(2026, 11, 2, tzinfo=UTC)
    for kind, extra in (("opened", {}), ("push_tapped", {"delivery_id": 7}), ("session", {})):
        DeviceActivity.objects.create(
            app_id=device.app_id,
            device=device,
            lead=device.lead,
            kind=kind,
            occurred_at=at,
            length_seconds=30 if kind == "session" else None,
            **extra,
        )
    api = bearer_client(marketer_user)[0]
    device_url = f"/api/v1/apps/{device.app_id}/devices/{device.installation_id}"
    answers = [
        (DEVICE, device_url, 200),
        (DEVICE, f"/api/v1/apps/{device.app_id}/devices/nobody", 404),
        (DEVICE_ACTIVITIES, device_url + "/activities?page_size=2", 200),
        (DEVICE_ACTIVITIES, device_url + "/activities?kind=nope", 400),
        (LEAD_ACTIVITIES, f"/api/v1/leads/{device.lead_id}/activities", 200),
        ("/api/v1/devices", "/api/v1/devices?eligible=false", 200),
    ]
    for path, url, status in answers:
        response = api.get(url)
        assert response.status_code == status, url
        assert_matches(schema, path, status, response.json())
    unauthenticated = Client().get(device_url)
    assert_matches(schema, DEVICE, 401, unauthenticated.json())
    sdk = SdkClient(device.app.sdk_key)
    answer = sdk.client.get(
        f"/api/sdk/v1/devices/{device.installation_id}", HTTP_AUTHORIZATION=sdk.auth
    )
    assert answer.status_code == 200
    assert_matches(schema, SDK_DEVICE, 200, answer.json())
