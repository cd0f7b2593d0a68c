# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

import pytest
from django.test import Client

from devices.models import PushCredential
from pushmarketing.core.addons import ADDON_DISABLED_MESSAGE
from pushmarketing.core.api_tokens import api_token_revoke
from pushmarketing.core.models import ApiToken
from tests.api_fixtures import bearer_client, clear_throttle_counts, throttle_claim_statements
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    clear_throttle_counts()


@pytest.fixture
def api(addon_on, marketer_user) -> Client:
    return bearer_client(marketer_user)[0]


def configure(app, platform: str, **kw) -> PushCredential:
    defaults = {
        "kind": "fcm_service_account" if platform == "android" else "apns_token",
        "secret_encrypted": "SECRET-CIPHERTEXT",
        "public_meta": {"project_id": "demo"},
    }
    return PushCredential.objects.create(app=app, platform=platform, **{**defaults, **kw})


def test_no_token_is_401_with_bearer_challenge(addon_on):
    response = Client().get("/api/v1/apps")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_session_login_is_not_enough(addon_on, marketer_client):
    assert marketer_client.get("/api/v1/apps").status_code == 401


def test_wrong_and_revoked_tokens_are_401(addon_on, marketer_user):
    client, plaintext = bearer_client(marketer_user)
    assert client.get("/api/v1/apps").status_code == 200
    api_token_revoke(token=ApiToken.objects.get(), actor=marketer_user)
    response = client.get("/api/v1/apps")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    wrong = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext[:-2]}xx")
    assert wrong.get("/api/v1/apps").status_code == 401


def test_last_used_is_recorded(addon_on, marketer_user):
    client, _ = bearer_client(marketer_user)
    client.get("/api/v1/apps")
    assert ApiToken.objects.get().last_used_at is not None


def test_addon_off_closes_campaigns_but_not_the_registry_as_in_the_ui(marketer_user, client):
    # One rule for the UI and the API: pushes and campaigns are behind the add-on; apps,
    # leads and devices (the SDK keeps reporting them) stay readable.
    api, _ = bearer_client(marketer_user)
    response = api.get("/api/v1/campaigns")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == ADDON_DISABLED_MESSAGE
    for path in ("/api/v1/apps", "/api/v1/leads", "/api/v1/devices"):
        assert api.get(path).status_code == 200, path
    client.force_login(marketer_user)
    assert client.get("/campaigns/").status_code == 403
    for path in ("/leads/", "/devices/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "add-on" in page.content.decode().lower()  # the page says it is off


@pytest.mark.parametrize("path", ["/api/v1/apps", "/api/v1/leads", "/api/v1/devices"])
def test_approver_is_403_admin_and_marketer_read(addon_on, approver_user, admin_user, path):
    assert bearer_client(approver_user)[0].get(path).status_code == 403
    assert bearer_client(admin_user)[0].get(path).status_code == 200


def test_apps_show_key_and_platform_setup_never_secrets(api):
    app = MobileAppFactory(name="Shop")
    configure(app, "android", verification="verified")
    response = api.get("/api/v1/apps")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["sdk_key"] == app.sdk_key
    assert item["platforms"]["android"]["configured"] is True
    assert item["platforms"]["android"]["verification"] == "verified"
    assert item["platforms"]["ios"]["configured"] is False
    text = response.content.decode()
    assert "SECRET-CIPHERTEXT" not in text and app.sdk_secret_hash not in text
    detail = api.get(f"/api/v1/apps/{app.pk}")
    assert detail.status_code == 200 and detail.json()["name"] == "Shop"
    assert api.get("/api/v1/apps/999999").status_code == 404


def test_app_list_queries_do_not_grow_with_rows(api, django_assert_max_num_queries):
    for _ in range(12):
        app = MobileAppFactory()
        configure(app, "android")
        configure(app, "ios")
    # auth, token touch, roles, add-on, count, apps, credentials (and the throttle's claim)
    with django_assert_max_num_queries(7 + throttle_claim_statements()):
        assert len(api.get("/api/v1/apps").json()["results"]) == 12


def test_leads_search_by_email(api):
    lead = LeadFactory(email="Jane@Example.com")
    LeadFactory(email="bob@example.com")
    DeviceFactory(lead=lead)
    exact = api.get("/api/v1/leads", {"email": "jane@example.com"}).json()
    assert [r["email"] for r in exact["results"]] == ["Jane@Example.com"]
    assert exact["results"][0]["device_count"] == 1
    assert api.get("/api/v1/leads", {"q": "example"}).json()["count"] == 2
    bad = api.get("/api/v1/leads", {"email": "nope"})
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]


def test_devices_filter_and_eligibility_reasons(api):
    app = MobileAppFactory()
    configure(app, "android")
    ready = DeviceFactory(app=app, platform="android")
    no_lead = DeviceFactory(app=app, platform="ios", lead=None, push_token="ab" * 32)
    DeviceFactory()  # another app
    body = api.get("/api/v1/devices", {"app": app.pk}).json()
    by_id = {d["id"]: d for d in body["results"]}
    assert set(by_id) == {ready.pk, no_lead.pk}
    assert by_id[ready.pk]["eligible"] is True and by_id[ready.pk]["not_eligible_reasons"] == []
    codes = [r["code"] for r in by_id[no_lead.pk]["not_eligible_reasons"]]
    assert codes == ["no_lead", "app_not_configured"]
    assert by_id[no_lead.pk]["push_token_prefix"] == "abababab"
    ios = api.get("/api/v1/devices", {"app": app.pk, "platform": "ios"}).json()
    assert [d["id"] for d in ios["results"]] == [no_lead.pk]
    by_lead = api.get("/api/v1/devices", {"lead": ready.lead_id}).json()
    assert [d["id"] for d in by_lead["results"]] == [ready.pk]


def test_device_filters_are_validated(api):
    response = api.get("/api/v1/devices", {"platform": "windows", "status": "zombie"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"platform", "status"}


@pytest.mark.parametrize(("name", "value"), [("app", 10**30), ("lead", 2**64)])
def test_device_filter_ids_past_64_bits_are_400_naming_the_field(api, name, value):
    response = api.get("/api/v1/devices", {name: value})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        name: ["Ensure this value is less than or equal to 9223372036854775807."]
    }


def test_devices_paginate_without_n_plus_one(api, django_assert_max_num_queries):
    app = MobileAppFactory()
    configure(app, "android")
    DeviceFactory.create_batch(30, app=app)
    with django_assert_max_num_queries(6 + throttle_claim_statements()):
        page = api.get("/api/v1/devices", {"page_size": 20}).json()
    assert page["count"] == 30 and len(page["results"]) == 20 and page["next"]
