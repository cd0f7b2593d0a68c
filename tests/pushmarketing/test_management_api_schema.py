from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_documents_both_auth_schemes_and_every_endpoint():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["sdkBasic"] == {**schemes["sdkBasic"], "type": "http", "scheme": "basic"}
    assert schemes["bearerToken"]["scheme"] == "bearer"
    paths = schema["paths"]
    for path in (
        "/api/sdk/v1/devices/register",
        "/api/sdk/v1/devices/{installation_id}/activities",
        "/api/sdk/v1/test-devices/pair",
        "/api/v1/devices",
        "/api/v1/apps/{id}",
    ):
        assert path in paths, path
    register = paths["/api/sdk/v1/devices/register"]["post"]
    assert register["security"] == [{"sdkBasic": []}]
    assert paths["/api/v1/devices"]["get"]["security"] == [{"bearerToken": []}]


def test_swagger_ui_is_served_without_a_cdn():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_request_bodies_refuse_properties_they_do_not_list():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = json.loads(response.content)["components"]["schemas"]
    for name in ("RegisterInputRequest", "ActivityInputRequest", "InputRequest"):
        assert components[name]["additionalProperties"] is False, name
    assert "description" not in components["ActivityInputRequest"]
    assert components["RegisterInputRequest"]["properties"]["installation_id"]["type"] == "string"
    delivery_id = components["ActivityInputRequest"]["properties"]["delivery_id"]
    assert (delivery_id["format"], delivery_id["maximum"]) == ("int64", 2**63 - 1)
