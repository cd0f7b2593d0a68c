"""What the served OpenAPI schema promises, checked against the code that answers: the
schemathesis run (test_schemathesis.py) explores inputs; these pin the particular lies the
schema used to tell."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import Seeded
from tests.api_fixtures import basic_auth

pytestmark = pytest.mark.django_db


def served_schema() -> dict[str, Any]:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    ]


def test_list_answers_are_documented_as_pages_with_their_parameters():
    schema = served_schema()
    components = schema["components"]["schemas"]
    for path in ("/api/v1/apps", "/api/v1/leads", "/api/v1/devices", "/api/v1/campaigns"):
        op = schema["paths"][path]["get"]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = components[ref.rsplit("/", 1)[-1]]
        assert set(page["properties"]) == {"count", "next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array", path
        assert {"page", "page_size"} <= {p["name"] for p in op["parameters"]}, path
    campaigns = schema["paths"]["/api/v1/campaigns"]["get"]
    assert "app" in {p["name"] for p in campaigns["parameters"]}


def test_every_error_answer_is_documented_with_the_error_shape():
    schema = served_schema()
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        expected = {"401", "429"} | ({"403"} if path.startswith("/api/v1/") else set())
        if "requestBody" in op:
            expected |= {"400", "413", "415"}
        if "{" in path:
            expected.add("404")
        assert expected <= codes, (method, path, codes)
        if "304" in codes:
            # Not Modified has no body by definition (RFC 9110): the in-app answer's ETag.
            assert "content" not in op["responses"]["304"], (method, path)
            assert op["responses"]["304"]["description"], (method, path)
        for code in codes - {"200", "201", "304"}:
            body = op["responses"][code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOutput"}, (method, path, code)
            assert op["responses"][code]["description"], (method, path, code)


def test_no_description_is_a_code_comment():
    schema = served_schema()
    components = schema["components"]["schemas"]
    for name in (
        "RegisterInputRequest",
        "TokenInputRequest",
        "LeadInputRequest",
        "PairInputRequest",
    ):
        assert "description" not in components[name], name
    for path, method, op in operations(schema):
        assert "Base for the" not in op.get("description", ""), (method, path)
    assert "description" not in components["ReportOutput"]


def test_custom_fields_and_activities_are_typed_and_bounded():
    components = served_schema()["components"]["schemas"]
    for name in ("LeadInputRequest", "LeadOutput"):
        custom = components[name]["properties"]["custom_fields"]
        assert custom["type"] == "object" and custom["maxProperties"] == 50, name
        assert {t["type"] for t in custom["additionalProperties"]["anyOf"]} == {
            "string",
            "number",
            "boolean",
        }
    activities = components["ActivitiesInputRequest"]["properties"]["activities"]
    assert (activities["minItems"], activities["maxItems"]) == (1, 100)


def test_request_examples_are_accepted(seeded: Seeded):
    schema = served_schema()
    sdk = {"HTTP_AUTHORIZATION": basic_auth(seeded.sdk_key)}
    management = {"HTTP_AUTHORIZATION": f"Bearer {seeded.api_token}"}
    checked = 0
    for path, method, op in operations(schema):
        content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in content.get("examples", {}).items():
            url = path.format(**seeded.path_parameters)
            auth = sdk if path.startswith("/api/sdk/") else management
            response = getattr(Client(), method)(
                url, json.dumps(example["value"]), content_type="application/json", **auth
            )
            assert response.status_code < 300, (method, path, name, response.content)
            checked += 1
    assert checked >= 3


def test_an_installation_id_no_device_can_have_is_a_404_before_any_query(seeded: Seeded):
    # A NUL character reached PostgreSQL, which refuses it outright: a 500.
    auth = {"HTTP_AUTHORIZATION": basic_auth(seeded.sdk_key)}
    for installation_id in ("a%00b", "x" * 65, "a%0A"):
        response = Client().post(f"/api/sdk/v1/devices/{installation_id}/unregister", **auth)
        assert response.status_code == 404, installation_id
        assert response.json()["error"]["code"] == "not_found"
