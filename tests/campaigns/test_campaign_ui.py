from __future__ import annotations

import json

import pytest
from django.urls import reverse

from campaigns import enqueue
from campaigns.models import Campaign, CampaignRun, Delivery
from pushmarketing.core.models import AuditEntry
from tests.campaign_fixtures import deliveries_mark, device, make_campaign, run_started

pytestmark = pytest.mark.django_db


def form_data(app, push, **extra) -> dict:
    data = {
        "name": "Welcome back",
        "app": app.pk,
        "notification": push.pk,
        "audience": json.dumps([{"field": "platform", "value": "android"}]),
        "schedule_kind": "now",
        "qualification": "once",
    }
    data.update(extra)
    return data


def test_marketer_creates_a_batch_campaign(app, push, addon_on, marketer_client):
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=batch",
        form_data(app, push, cap_max=3, cap_per="week", quiet_start="22:00", quiet_end="07:30"),
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign-detail", args=[campaign.pk])
    assert campaign.audience == [{"field": "platform", "value": "android", "negate": False}]
    assert campaign.frequency_cap == {"max": 3, "per": "week"}
    assert campaign.quiet_hours == {"start": "22:00", "end": "07:30"}
    assert AuditEntry.objects.filter(action="campaign.created").count() == 1


@pytest.mark.parametrize(
    ("extra", "field", "text"),
    [
        (
            {"audience": json.dumps([{"field": "locale", "op": "equals"}])},
            "audience",
            "is required",
        ),
        ({"schedule_kind": "recurring", "recurring_frequency": "daily"}, "schedule_time", "HH:MM"),
        ({"qualification": "once_per"}, "qualification_period", "is required"),
        ({"quiet_start": "22:00"}, "quiet_end", "set both times"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start", "HH:MM"),
        ({"audience": "not json"}, "audience", "could not be read"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_nothing_is_saved(
    app, push, addon_on, marketer_client, extra, field, text
):
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=batch", form_data(app, push, **extra)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert text.lower() in " ".join(errors[field]).lower()
    assert not Campaign.objects.exists()


def test_every_broken_rule_is_shown_at_once_with_a_summary_on_top(
    app, push, addon_on, marketer_client
):
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=batch",
        form_data(
            app,
            push,
            schedule_kind="at",
            schedule_at="2020-01-01T10:00",
            quiet_start="22:00",
            quiet_end="7h",
            cap_max=5000,
        ),
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    # One submit shows the three problems, each under its own field, in words.
    assert errors["schedule_at"] == ["Is in the past: pick the current minute or later."]
    assert errors["quiet_end"] == ["Must be a time as HH:MM (24-hour)."]
    assert errors["cap_max"] == ["Must be a whole number from 1 to 1000."]
    page = response.content.decode()
    summary = page[page.index('id="form-errors"') :]
    summary = summary[: summary.index("</div>")]
    for field in ("schedule_at", "quiet_end", "cap_max"):
        assert f'href="#id_{field}"' in summary
    assert "quiet hours.end" not in page and "frequency cap.max" not in page  # no paths
    assert not Campaign.objects.exists()


def test_draft_push_cannot_be_picked(app, addon_on, marketer_client):
    from tests.factories import PushNotificationFactory

    draft = PushNotificationFactory(app=app)
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=batch", form_data(app, draft)
    )
    assert response.status_code == 400
    assert "approved push" in " ".join(response.context["form"].errors["notification"])


def test_trigger_campaign_create_and_activate(app, push, addon_on, marketer_client):
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=trigger",
        form_data(app, push, trigger_event="custom_action", trigger_action_name="Checkout"),
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.trigger == {
        "event": "custom_action",
        "action_name": "Checkout",
        "send_within_minutes": 60,  # the default window
        "wait_for_lead_minutes": 0,  # only a first open waits for the login by default
    }
    marketer_client.post(reverse("campaign-start", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == "active"
    assert CampaignRun.objects.filter(campaign=campaign, kind="trigger").count() == 1


def test_start_now_enqueues_the_run_after_commit(
    app, push, addon_on, marketer_client, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        enqueue,
        "_send",
        lambda name, args, *, queue, countdown=0.0: sent.append((name, args, queue)),
    )
    campaign = make_campaign(app=app, notification=push)
    with django_capture_on_commit_callbacks(execute=True):
        marketer_client.post(reverse("campaign-start", args=[campaign.pk]))
        assert sent == []  # nothing leaves before the transaction commits
    campaign.refresh_from_db()
    # The start opened the run in its own transaction; a worker resolves it after commit.
    run = campaign.runs.get()
    assert (campaign.status, run.status) == ("running", "resolving")
    assert [(name, tuple(args), queue) for name, args, queue in sent] == [
        ("campaigns.run_resolve", (run.pk,), "default")
    ]


def test_pause_resume_and_cancel(app, push, addon_on, marketer_client, dispatched):
    for _ in range(3):
        device(app)
    campaign = make_campaign(app=app, notification=push)
    run = run_started(campaign)
    marketer_client.post(reverse("campaign-pause", args=[campaign.pk]))
    run.refresh_from_db()
    assert run.status == "paused"
    assert AuditEntry.objects.filter(action="campaign.paused").exists()
    marketer_client.post(reverse("campaign-resume", args=[campaign.pk]))
    run.refresh_from_db()
    assert run.status == "sending"
    assert dispatched.calls[-1] == (run.pk, "bulk")
    first = Delivery.objects.filter(run=run).order_by("id").first()
    deliveries_mark(Delivery.objects.filter(pk=first.pk), status="sent")
    marketer_client.post(reverse("campaign-cancel", args=[campaign.pk]))
    run.refresh_from_db()
    statuses = sorted(Delivery.objects.filter(run=run).values_list("status", "reason"))
    assert statuses == [("sent", ""), ("skipped", "cancelled"), ("skipped", "cancelled")]
    assert (run.status, run.skipped_android) == ("cancelled", 2)
    assert AuditEntry.objects.get(action="campaign.cancelled").details == {
        "deliveries_cancelled": 2
    }


def test_progress_json_and_detail_page(app, push, addon_on, approver_client, dispatched):
    device(app)
    device(app, "ios")
    campaign = make_campaign(app=app, notification=push)
    run = run_started(campaign)
    deliveries_mark(run.deliveries.filter(platform="ios"), status="sent")
    data = approver_client.get(reverse("campaign-progress", args=[campaign.pk])).json()
    assert data["totals"]["queued"] == {"ios": 1, "android": 1, "all": 2}
    assert data["totals"]["pending"] == {"ios": 0, "android": 1, "all": 1}
    assert data["runs"][0]["id"] == run.pk
    page = approver_client.get(reverse("campaign-detail", args=[campaign.pk]))
    assert page.status_code == 200
    assert b"Pause" not in page.content  # approvers read only


def test_audience_count_endpoint(app, push, addon_on, marketer_client):
    device(app)
    device(app, push_enabled=False)
    response = marketer_client.post(
        reverse("campaign-audience-count"),
        json.dumps({"app": app.pk, "notification": push.pk, "audience": []}),
        content_type="application/json",
    )
    data = response.json()
    assert (data["eligible_devices"], data["excluded"]["push_disabled"]["count"]) == (1, 1)
    bad = marketer_client.post(
        reverse("campaign-audience-count"),
        json.dumps({"app": app.pk, "audience": [{"field": "nope"}]}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert list(fields) == ["audience[0].field"]
    assert fields["audience[0].field"][0].startswith("must be one of")


def test_roles_are_enforced_on_the_server(app, push, addon_on, approver_client):
    campaign = make_campaign(app=app, notification=push)
    assert approver_client.get(reverse("campaign-list")).status_code == 200
    assert approver_client.get(reverse("campaign-create")).status_code == 403
    assert approver_client.post(reverse("campaign-start", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_addon_off_shows_the_ask_an_admin_page(marketer_client, db):
    response = marketer_client.get(reverse("campaign-list"))
    assert response.status_code == 403
    assert b"ask an admin" in response.content


def test_pages_render(app, push, addon_on, marketer_client):
    assert b"No campaigns" in marketer_client.get(reverse("campaign-list")).content
    page = marketer_client.get(reverse("campaign-create") + "?kind=trigger")
    assert page.status_code == 200 and b"campaign-editor-config" in page.content
    campaign = make_campaign(app=app, notification=push)
    assert marketer_client.get(reverse("campaign-edit", args=[campaign.pk])).status_code == 200
    assert b"Spring sale" in marketer_client.get(reverse("campaign-list")).content


def test_tap_trigger_must_name_a_push_of_the_same_app(app, push, addon_on, marketer_client):
    from tests.campaign_fixtures import approve
    from tests.factories import PushNotificationFactory

    foreign = approve(PushNotificationFactory())
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=trigger",
        form_data(app, push, trigger_event="push_tapped", trigger_notification=foreign.pk),
    )
    assert response.status_code == 400
    assert "campaign's app" in " ".join(response.context["form"].errors["trigger_notification"])
    assert not Campaign.objects.exists()


def test_progress_polling_query_count_does_not_grow_with_runs(
    app, push, addon_on, marketer_client, django_assert_max_num_queries, enqueued
):
    campaign = make_campaign(app=app, notification=push)
    for _ in range(5):  # sent, then sent again four times; an empty audience ends each at once
        assert run_started(campaign).status == "completed"
    url = reverse("campaign-progress", args=[campaign.pk])
    marketer_client.get(url)  # session and roles warm-up
    with django_assert_max_num_queries(9):
        data = marketer_client.get(url).json()
    assert len(data["runs"]) == 5
    # The engine completed the campaign with its last run; the read only reports it.
    assert data["status"] == "completed"


def test_finished_one_shot_campaign_is_completed_by_the_engine_not_by_a_read(
    app, push, addon_on, approver_client, enqueued
):
    # Was: the list page folded finished runs into the campaign's status when read (issue 10:
    # status depended on who looked). Now the transaction that ends the last run completes
    # the campaign, and pages only read the stored status.
    done = make_campaign(app=app, notification=push, name="Done")
    assert run_started(done).status == "completed"  # empty audience: done at resolution
    done.refresh_from_db()
    assert done.status == "completed"  # before anyone looked
    device(app)
    sending = make_campaign(app=app, notification=push, name="Sending")
    assert run_started(sending).status == "sending"
    response = approver_client.get(reverse("campaign-list"))
    assert response.status_code == 200
    sending.refresh_from_db()
    assert sending.status == "running"
    # A read never writes a status: a stored status stays as stored, whatever the runs say.
    CampaignRun.objects.filter(campaign=sending).update(status="completed")
    approver_client.get(reverse("campaign-list"))
    approver_client.get(reverse("campaign-detail", args=[sending.pk]))
    sending.refresh_from_db()
    assert sending.status == "running"


def test_running_campaign_cannot_be_edited(app, push, addon_on, marketer_client):
    campaign = make_campaign(app=app, notification=push, status="running")
    response = marketer_client.post(
        reverse("campaign-edit", args=[campaign.pk]), form_data(app, push, name="Changed")
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Spring sale"
