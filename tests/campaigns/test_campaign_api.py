from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign, CampaignRun, Delivery
from pushmarketing.core.api_tokens import api_token_create
from tests.campaign_fixtures import device, make_campaign
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def token_client(user, name: str = "CRM") -> APIClient:  # noqa: ANN001
    """Triggers need a real API token: idempotency keys are scoped to it."""
    _, plaintext = api_token_create(user=user, name=name)
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


@pytest.fixture
def api(marketer_user) -> APIClient:
    return token_client(marketer_user)


def trigger_url(campaign) -> str:
    return reverse("api-campaign-trigger", args=[campaign.pk])


def requestable(app, push):  # noqa: ANN001, ANN201
    """A campaign the API may send: an active trigger campaign (a draft is refused)."""
    return make_campaign(
        app=app,
        notification=push,
        kind=Campaign.Kind.TRIGGER,
        status=Campaign.Status.ACTIVE,
        trigger={"event": "opened"},
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Campaign.Status.DRAFT, "a draft campaign cannot be triggered; start or edit it"),
        (Campaign.Status.PAUSED, "a paused campaign cannot be triggered; resume or cancel it"),
    ],
)
def test_campaign_not_started_cannot_be_triggered_409(
    app, push, addon_on, api, dispatched, status, reason
):
    device(app, lead=(lead := LeadFactory()))
    campaign = make_campaign(app=app, notification=push, status=status)
    body = {"lead_ids": [lead.pk], "idempotency_key": "draft-key-1"}
    response = api.post(trigger_url(campaign), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "campaign_not_triggerable",
        "message": f"status: {reason}",
        "fields": {"status": [reason]},
    }
    assert not CampaignRun.objects.exists() and not dispatched.tasks


def test_trigger_sends_to_the_leads_eligible_devices_once_per_key(
    app, push, addon_on, api, dispatched
):
    ann, bob, cat = LeadFactory(email="Ann@Example.com"), LeadFactory(), LeadFactory()
    ann_phone, ann_tablet = device(app, lead=ann), device(app, "ios", lead=ann)
    device(app, lead=ann, push_enabled=False)
    bob_phone = device(app, lead=bob)
    device(app, lead=cat)
    campaign = requestable(app, push)
    body = {"leads": ["ann@example.com"], "lead_ids": [bob.pk], "idempotency_key": "order-1234"}
    first = api.post(trigger_url(campaign), body, format="json")
    assert first.status_code == 201
    run = CampaignRun.objects.get()
    assert (run.kind, first.json()["run"]["id"], first.json()["created"]) == ("api", run.pk, True)
    assert set(Delivery.objects.values_list("device_id", flat=True)) == {
        ann_phone.pk,
        ann_tablet.pk,
        bob_phone.pk,
    }
    assert dispatched.calls == [(run.pk, "send")]
    again = api.post(trigger_url(campaign), body, format="json")
    assert again.status_code == 200
    assert again.json()["run"]["id"] == run.pk and again.json()["created"] is False
    assert CampaignRun.objects.count() == 1 and Delivery.objects.count() == 3
    assert len(dispatched.calls) == 1


def test_trigger_validation_errors_name_the_field(app, push, addon_on, api):
    campaign = make_campaign(app=app, notification=push)
    response = api.post(trigger_url(campaign), {"idempotency_key": "k-12345678"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"leads": ["give leads (emails) or lead_ids"]}
    response = api.post(trigger_url(campaign), {"leads": ["not-an-email"]}, format="json")
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"leads.0", "idempotency_key"}


INT64_RULE = "Ensure this value is less than or equal to 9223372036854775807."


def test_lead_id_past_64_bits_is_400_naming_the_field(app, push, addon_on, api, dispatched):
    body = {"lead_ids": [1, 2**64], "idempotency_key": "k-12345678"}
    response = api.post(trigger_url(requestable(app, push)), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lead_ids.1": [INT64_RULE]}
    assert not CampaignRun.objects.exists()


def test_deeply_nested_trigger_body_is_400(app, push, addon_on, api):
    body = '{"lead_ids": ' + "[" * 5000 + "]" * 5000 + "}"
    response = api.post(trigger_url(requestable(app, push)), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_trigger_refuses_unknown_fields_and_numbers_for_strings(app, push, addon_on, api):
    campaign = requestable(app, push)
    body = {"lead_ids": [1], "idempotency_key": "k-12345678", "dry_run": True}
    response = api.post(trigger_url(campaign), body, format="json")
    assert response.json()["error"]["fields"] == {"dry_run": ["Unknown field."]}
    body = {"leads": [12345678], "idempotency_key": 123456789}
    response = api.post(trigger_url(campaign), body, format="json")
    assert response.json()["error"]["fields"] == {
        "leads.0": ["Must be a string."],
        "idempotency_key": ["Must be a string."],
    }


def test_campaign_list_app_filter_is_bounded(app, push, addon_on, api):
    campaign = make_campaign(app=app, notification=push)
    listed = api.get(reverse("api-campaign-list"), {"app": app.pk}).json()["results"]
    assert [c["id"] for c in listed] == [campaign.pk]
    response = api.get(reverse("api-campaign-list"), {"app": 10**30})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"app": [INT64_RULE]}
    assert api.get(reverse("api-campaign-list"), {"app": "x"}).status_code == 400


def test_key_reused_for_another_campaign_is_a_conflict(app, push, addon_on, api, dispatched):
    device(app, lead=(lead := LeadFactory()))
    one, two = requestable(app, push), requestable(app, push)
    body = {"lead_ids": [lead.pk], "idempotency_key": "shared-key-1"}
    assert api.post(trigger_url(one), body, format="json").status_code == 201
    response = api.post(trigger_url(two), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert "'shared-key-1' was already used" in response.json()["error"]["message"]
    assert CampaignRun.objects.count() == 1 and len(dispatched.calls) == 1


def test_key_reused_with_other_leads_is_a_conflict_naming_the_key(
    app, push, addon_on, api, dispatched
):
    ann, bob = LeadFactory(), LeadFactory()
    device(app, lead=ann), device(app, lead=bob)
    campaign = requestable(app, push)
    first = {"lead_ids": [ann.pk], "idempotency_key": "order-9001"}
    assert api.post(trigger_url(campaign), first, format="json").status_code == 201
    response = api.post(trigger_url(campaign), {**first, "lead_ids": [bob.pk]}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["fields"] == {
        "idempotency_key": [
            "'order-9001' was already used with a different request (another campaign or "
            "other leads); send a new key for a new request"
        ]
    }
    assert CampaignRun.objects.count() == 1 and Delivery.objects.count() == 1
    assert len(dispatched.calls) == 1


def test_keys_are_scoped_to_the_api_token(app, push, addon_on, api, marketer_user, dispatched):
    device(app, lead=(lead := LeadFactory()))
    campaign = requestable(app, push)
    body = {"lead_ids": [lead.pk], "idempotency_key": "order-1234"}
    marketers = api.post(trigger_url(campaign), body, format="json")
    admin = UserFactory(role="admin")
    admins = token_client(admin).post(trigger_url(campaign), body, format="json")
    assert (marketers.status_code, admins.status_code) == (201, 201)
    assert marketers.json()["run"]["id"] != admins.json()["run"]["id"]
    assert CampaignRun.objects.count() == 2 and len(dispatched.calls) == 2
    runs = CampaignRun.objects.order_by("pk")
    assert [run.started_by_id for run in runs] == [marketer_user.pk, admin.pk]
    # The marketer's second token is another scope too.
    again = token_client(marketer_user, "ETL").post(trigger_url(campaign), body, format="json")
    assert again.status_code == 201 and CampaignRun.objects.count() == 3


def test_keys_are_kept_24_hours(app, push, addon_on, api, dispatched):
    device(app, lead=(lead := LeadFactory()))
    campaign = requestable(app, push)
    body = {"lead_ids": [lead.pk], "idempotency_key": "daily-report"}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = api.post(trigger_url(campaign), body, format="json").json()["run"]["id"]
    with time_machine.travel(start + timedelta(hours=24) - timedelta(seconds=1), tick=False):
        replay = api.post(trigger_url(campaign), body, format="json")
        assert (replay.status_code, replay.json()["run"]["id"]) == (200, first)
        other = api.post(trigger_url(campaign), {**body, "lead_ids": [lead.pk, 99]}, format="json")
        assert other.status_code == 409
    with time_machine.travel(start + timedelta(hours=24), tick=False):
        again = api.post(trigger_url(campaign), body, format="json")
    assert again.status_code == 201 and again.json()["run"]["id"] != first
    assert CampaignRun.objects.count() == 2 and len(dispatched.calls) == 2


def test_list_detail_and_run_stats(app, push, addon_on, api, dispatched):
    device(app, lead=(lead := LeadFactory()))
    campaign = requestable(app, push)
    api.post(
        trigger_url(campaign),
        {"lead_ids": [lead.pk], "idempotency_key": "k-00000001"},
        format="json",
    )
    listed = api.get(reverse("api-campaign-list")).json()["results"]
    assert [c["id"] for c in listed] == [campaign.pk]
    detail = api.get(reverse("api-campaign-detail", args=[campaign.pk])).json()
    assert detail["totals"]["queued"]["all"] == 1
    run = CampaignRun.objects.get()
    stats = api.get(reverse("api-campaign-run", args=[campaign.pk, run.pk])).json()
    assert (stats["total"], stats["queued"]["android"]) == (1, 1)
    assert api.get(reverse("api-campaign-run", args=[campaign.pk + 99, run.pk])).status_code == 404


def test_roles_and_addon_are_enforced(app, push, approver_user, marketer_user, db):
    campaign = make_campaign(app=app, notification=push)
    client = APIClient()
    assert client.get(reverse("api-campaign-list")).status_code in (401, 403)
    client.force_authenticate(approver_user)
    assert client.get(reverse("api-campaign-list")).status_code == 403
    client.force_authenticate(marketer_user)
    response = client.post(
        trigger_url(campaign), {"lead_ids": [1], "idempotency_key": "k-00000002"}, format="json"
    )
    assert response.status_code == 403
    assert "ask an admin" in response.json()["error"]["message"]
    assert not CampaignRun.objects.exists()
    admin = UserFactory(role="admin")
    client.force_authenticate(admin)
    assert client.get(reverse("api-campaign-list")).status_code == 403  # add-on still off


def test_bearer_token_authenticates_the_trigger(app, push, addon_on, marketer_user, dispatched):
    from pushmarketing.core.api_tokens import api_token_create

    device(app, lead=(lead := LeadFactory()))
    campaign = requestable(app, push)
    _, plaintext = api_token_create(user=marketer_user, name="CRM")
    client = APIClient()
    body = {"lead_ids": [lead.pk], "idempotency_key": "crm-order-77"}
    assert client.post(trigger_url(campaign), body, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = client.post(trigger_url(campaign), body, format="json")
    assert response.status_code == 201
    assert CampaignRun.objects.get().started_by == marketer_user
