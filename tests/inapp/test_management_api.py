"""The in-app management API (/api/v1/inapp/): behind its own add-on, admins and marketers,
field-named errors, the status actions and the dashboard figures."""

from __future__ import annotations

import pytest

from inapp.models import InAppCampaign, InAppMessage
from pushmarketing.core.models import AddOn, AuditEntry
from tests.api_fixtures import bearer_client, clear_throttle_counts
from tests.factories import DeviceFactory, MobileAppFactory, UserFactory
from tests.inapp_fixtures import approved_message, inapp_addon_set, live_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(inapp_on):
    clear_throttle_counts()
    return MobileAppFactory()


@pytest.fixture
def admin_api(db):
    client, _ = bearer_client(UserFactory(role="admin"))
    return client


@pytest.fixture
def marketer_api(db):
    client, _ = bearer_client(UserFactory(role="marketer"))
    return client


def post(client, path: str, body: dict):
    return client.post(f"/api/v1/inapp/{path}", body, content_type="application/json")


def test_the_inapp_addon_gates_the_api_not_the_push_one(app, admin_api):
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    inapp_addon_set(False)
    response = admin_api.get("/api/v1/inapp/messages")
    assert response.status_code == 403
    assert "In-app messages add-on" in response.json()["error"]["message"]
    inapp_addon_set(True)
    AddOn.objects.filter(code=AddOn.Code.MOBILE_PUSH).update(enabled=False)
    assert admin_api.get("/api/v1/inapp/messages").status_code == 200


def test_approvers_cannot_use_the_api(app):
    client, _ = bearer_client(UserFactory(role="approver"))
    assert client.get("/api/v1/inapp/campaigns").status_code == 403


def test_create_edit_and_approve_a_message(app, admin_api):
    response = post(
        admin_api,
        "messages",
        {"app": app.pk, "name": "Hello", "layout": "popup_text", "body": "Hi there"},
    )
    assert response.status_code == 201, response.content
    message_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    patched = admin_api.patch(
        f"/api/v1/inapp/messages/{message_id}",
        {"title": "Welcome {{lead.First Name:default=friend}}"},
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["title"].startswith("Welcome")
    approved = post(admin_api, f"messages/{message_id}/approve", {})
    assert approved.status_code == 200
    assert approved.json()["approved_content"]["title"].startswith("Welcome")
    assert AuditEntry.objects.filter(action="inapp_message.approved").exists()


def test_bad_message_input_names_the_field_and_rule(app, admin_api):
    response = post(
        admin_api,
        "messages",
        {"app": app.pk, "layout": "popup_text", "body": "a\nb\nc\nd"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"body": ["a pop-up shows at most 3 lines"]}
    unknown = post(admin_api, "messages", {"app": app.pk, "colour": "#ffffff"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["fields"]
    no_app = post(admin_api, "messages", {"app": 999999, "body": "x"})
    assert no_app.status_code == 400 and "app" in no_app.json()["error"]["fields"]


def test_marketers_cannot_approve_through_the_api(app, marketer_api):
    message = InAppMessage.objects.create(app=app, name="m", body="x")
    response = post(marketer_api, f"messages/{message.pk}/approve", {})
    assert response.status_code == 403
    assert InAppMessage.objects.get(pk=message.pk).approved_content is None


def test_campaign_lifecycle_through_the_api(app, admin_api, inapp_admin):
    message = approved_message(app, inapp_admin)
    created = post(
        admin_api,
        "campaigns",
        {
            "app": app.pk,
            "name": "Greet",
            "message": message.pk,
            "audience": [{"field": "platform", "op": "is", "value": "ios"}],
            "display_limit": "until_tapped",
            "priority": 7,
        },
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    for action, status in (("approve", "live"), ("pause", "paused"), ("resume", "live")):
        response = post(admin_api, f"campaigns/{campaign_id}/status", {"action": action})
        assert (response.status_code, response.json()["status"]) == (200, status), action
    stopped = post(admin_api, f"campaigns/{campaign_id}/status", {"action": "stop"})
    assert stopped.json()["status"] == "stopped"
    again = post(admin_api, f"campaigns/{campaign_id}/status", {"action": "resume"})
    assert again.status_code == 409
    assert again.json()["error"]["fields"] == {"status": ["a stopped campaign cannot resume"]}
    assert InAppCampaign.objects.get(pk=campaign_id).status == "stopped"


def test_campaign_detail_carries_the_dashboard_figures(app, admin_api, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    DeviceFactory(app=app, platform="ios")
    DeviceFactory(app=app, platform="android", first_opened_at=None)  # never opened
    response = admin_api.get(f"/api/v1/inapp/campaigns/{campaign.pk}")
    assert response.status_code == 200
    figures = response.json()["figures"]
    assert (figures["ios"]["eligible_devices"], figures["android"]["eligible_devices"]) == (1, 0)
    assert figures["all"]["tap_through_rate_percent"] is None
    assert admin_api.get("/api/v1/inapp/campaigns/999999").status_code == 404


def test_list_filters_by_app(app, admin_api, inapp_admin):
    live_campaign(app, inapp_admin, name="Ours")
    live_campaign(MobileAppFactory(), inapp_admin, name="Theirs")
    response = admin_api.get("/api/v1/inapp/campaigns", {"app": app.pk})
    assert [c["name"] for c in response.json()["results"]] == ["Ours"]
