from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, DeviceActivity, PushCredential
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory

pytestmark = pytest.mark.django_db


def configure(app, platform="android"):
    kind = "fcm_service_account" if platform == "android" else "apns_token"
    return PushCredential.objects.create(app=app, platform=platform, kind=kind)


@pytest.fixture
def fleet():
    """One eligible device and one of each reason it could be ineligible."""
    app = MobileAppFactory(name="Shop")
    configure(app, "android")
    return {
        "eligible": DeviceFactory(app=app, installation_id="ok-device"),
        "never_opened": DeviceFactory(app=app, installation_id="never", first_opened_at=None),
        "no_lead": DeviceFactory(app=app, installation_id="anon", lead=None),
        "push_off": DeviceFactory(app=app, installation_id="push-off", push_enabled=False),
        "invalid": DeviceFactory(
            app=app, installation_id="dead", status=Device.Status.TOKEN_INVALID
        ),
        "ios_unconfigured": DeviceFactory(
            app=app, installation_id="iphone", platform="ios", is_test_device=True
        ),
    }


def listed(response) -> set[str]:
    return {d.installation_id for d in response.context["page"].object_list}


def test_device_list_shows_eligibility_and_reasons(marketer_client, fleet):
    response = marketer_client.get(reverse("device-list"))
    assert response.status_code == 200
    reasons = {d.installation_id: d.not_eligible_reasons for d in response.context["page"]}
    assert reasons == {
        "ok-device": [],
        "never": ["has never opened the app"],
        "anon": ["is not associated with a lead"],
        "push-off": ["push is disabled on the device"],
        "dead": ["its push token is invalid"],
        "iphone": ["the app has no credentials for this platform"],
    }
    assert "the app has no credentials for this platform" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"eligible": "yes"}, {"ok-device"}),
        ({"eligible": "no"}, {"never", "anon", "push-off", "dead", "iphone"}),
        ({"platform": "ios"}, {"iphone"}),
        ({"status": "token_invalid"}, {"dead"}),
        ({"test_device": "yes"}, {"iphone"}),
        ({"q": "push-"}, {"push-off"}),
        ({"q": "fcm-token"}, {"ok-device", "never", "anon", "push-off", "dead", "iphone"}),
    ],
)
def test_device_filters(marketer_client, fleet, params, expected):
    assert listed(marketer_client.get(reverse("device-list"), params)) == expected


def test_eligible_filter_agrees_with_the_shared_definition(marketer_client, fleet):
    from devices.eligibility import eligible_devices

    shown = listed(marketer_client.get(reverse("device-list"), {"eligible": "yes"}))
    assert shown == set(eligible_devices().values_list("installation_id", flat=True))


def test_device_filter_by_app_and_lead_email(marketer_client, fleet):
    other = DeviceFactory(installation_id="elsewhere", lead=LeadFactory(email="zed@example.com"))
    assert listed(marketer_client.get(reverse("device-list"), {"app": other.app_id})) == {
        "elsewhere"
    }
    assert listed(marketer_client.get(reverse("device-list"), {"q": "zed@"})) == {"elsewhere"}


def test_device_list_queries_do_not_grow_with_rows(marketer_client, django_assert_max_num_queries):
    for _ in range(3):
        app = MobileAppFactory()
        configure(app)
        DeviceFactory.create_batch(15, app=app)
    # session+user, roles, add-on, apps for the filter, count, page.
    # 8: the navigation asks whether the add-on is on (its pages are hidden while it is off).
    with django_assert_max_num_queries(8):
        response = marketer_client.get(reverse("device-list"))
    assert len(response.context["page"].object_list) == 45


def test_device_list_is_paginated(marketer_client):
    app = MobileAppFactory()
    DeviceFactory.create_batch(55, app=app)
    first = marketer_client.get(reverse("device-list"))
    second = marketer_client.get(reverse("device-list"), {"page": 2})
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "Older" in first.content.decode()


def test_empty_device_list_explains_where_devices_come_from(marketer_client):
    page = marketer_client.get(reverse("device-list")).content.decode()
    assert "No devices yet" in page


def test_browser_shows_the_addon_banner_but_still_works(marketer_client, fleet):
    response = marketer_client.get(reverse("device-list"))
    assert response.status_code == 200
    assert "Mobile Push add-on is off" in response.content.decode()


def test_no_addon_banner_when_on(marketer_client, fleet, addon_on):
    assert "add-on is off" not in marketer_client.get(reverse("device-list")).content.decode()


def test_device_detail_lists_reasons_and_token_prefix_only(marketer_client, fleet):
    device = fleet["ios_unconfigured"]
    page = marketer_client.get(reverse("device-detail", args=[device.pk])).content.decode()
    assert "the app has no credentials for this platform" in page
    assert device.push_token[:8] in page
    assert device.push_token not in page


def test_lead_detail_shows_devices_and_activity_newest_first(marketer_client, fleet):
    device = fleet["eligible"]
    lead = device.lead
    now = timezone.now()
    for minutes, kind in [(30, "opened"), (20, "session"), (10, "push_tapped")]:
        DeviceActivity.objects.create(
            app=device.app,
            device=device,
            lead=lead,
            kind=kind,
            occurred_at=now - timedelta(minutes=minutes),
        )
    response = marketer_client.get(reverse("lead-detail", args=[lead.pk]))
    assert [d.installation_id for d in response.context["devices"]] == ["ok-device"]
    assert [a.kind for a in response.context["activities"]] == [
        "push_tapped",
        "session",
        "opened",
    ]
    filtered = marketer_client.get(reverse("lead-detail", args=[lead.pk]), {"kind": "session"})
    assert [a.kind for a in filtered.context["activities"]] == ["session"]


def test_lead_activity_is_paginated_and_cheap(marketer_client, django_assert_max_num_queries):
    device = DeviceFactory()
    now = timezone.now()
    DeviceActivity.objects.bulk_create(
        DeviceActivity(
            app=device.app,
            device=device,
            lead=device.lead,
            kind="session",
            occurred_at=now - timedelta(minutes=i),
        )
        for i in range(30)
    )
    with django_assert_max_num_queries(10):
        response = marketer_client.get(reverse("lead-detail", args=[device.lead_id]))
    assert len(response.context["activities"].object_list) == 25


def test_lead_list_search_and_app_filter(marketer_client, fleet):
    LeadFactory(email="nobody@example.org", first_name="Nora")
    response = marketer_client.get(reverse("lead-list"), {"q": "nora"})
    assert [lead.email for lead in response.context["page"]] == ["nobody@example.org"]
    app_id = fleet["eligible"].app_id
    response = marketer_client.get(reverse("lead-list"), {"app": app_id})
    emails = {lead.email for lead in response.context["page"]}
    assert "nobody@example.org" not in emails
    assert fleet["eligible"].lead.email in emails


def test_lead_list_queries_do_not_grow(marketer_client, django_assert_max_num_queries):
    for _ in range(20):
        DeviceFactory()
    # 8: the navigation asks whether the add-on is on (its pages are hidden while it is off).
    with django_assert_max_num_queries(8):
        response = marketer_client.get(reverse("lead-list"))
    assert all(lead.device_count == 1 for lead in response.context["page"])


@pytest.mark.parametrize("name", ["lead-list", "device-list"])
def test_approver_gets_403_and_anonymous_goes_to_login(approver_client, client, name):
    assert approver_client.get(reverse(name)).status_code == 403
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_detail_pages_refuse_approvers(approver_client, fleet):
    device = fleet["eligible"]
    assert approver_client.get(reverse("device-detail", args=[device.pk])).status_code == 403
    assert approver_client.get(reverse("lead-detail", args=[device.lead_id])).status_code == 403


def test_admin_may_browse(admin_client, fleet):
    assert admin_client.get(reverse("device-list")).status_code == 200
    assert admin_client.get(reverse("lead-list")).status_code == 200


def test_unknown_device_is_404(marketer_client):
    assert marketer_client.get(reverse("device-detail", args=[999])).status_code == 404


def test_lead_and_device_pages_list_pushes_sent(marketer_client, django_assert_max_num_queries):
    from campaigns.models import CampaignRun, Delivery
    from tests.campaign_fixtures import make_campaign
    from tests.delivery_fixtures import run_create

    device = DeviceFactory()
    other = DeviceFactory(lead=device.lead, app=device.app, platform="ios")
    campaign = make_campaign(app=device.app, name="Spring sale")
    batch = run_create(app=device.app, devices=[device, other])
    CampaignRun.objects.filter(pk=batch.pk).update(campaign=campaign)
    sample = run_create(app=device.app, devices=[device], kind=CampaignRun.Kind.SAMPLE)
    Delivery.objects.filter(run=batch, device=other).update(
        status="failed", reason="payload rejected"
    )
    Delivery.objects.filter(run=sample).update(status="sent", tapped_at=timezone.now())
    with django_assert_max_num_queries(12):
        page = marketer_client.get(reverse("lead-detail", args=[device.lead_id]))
    deliveries = page.context["deliveries"]
    assert [(d.run_id, d.device_id) for d in deliveries] == [
        (sample.pk, device.pk),
        (batch.pk, other.pk),
        (batch.pk, device.pk),
    ]
    html = page.content.decode()
    assert "Spring sale" in html and "payload rejected" in html
    assert reverse("campaign-detail", args=[campaign.pk]) in html
    device_page = marketer_client.get(reverse("device-detail", args=[other.pk]))
    assert [d.run_id for d in device_page.context["deliveries"]] == [batch.pk]


def test_activity_log_filters_by_date(marketer_client, fleet):
    device = fleet["eligible"]
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for days_ago, kind in [(5, "installed"), (2, "session"), (0, "opened")]:
        DeviceActivity.objects.create(
            app=device.app, device=device, lead=device.lead, kind=kind,
            occurred_at=today - timedelta(days=days_ago),
        )  # fmt: skip
    url = reverse("device-detail", args=[device.pk])
    day = (today - timedelta(days=2)).date().isoformat()
    only_that_day = marketer_client.get(url, {"since": day, "until": day})
    assert [a.kind for a in only_that_day.context["activities"]] == ["session"]
    since = marketer_client.get(url, {"since": day})
    assert [a.kind for a in since.context["activities"]] == ["opened", "session"]
    backwards = marketer_client.get(url, {"since": today.date().isoformat(), "until": day})
    assert "must be on or after the From date" in backwards.content.decode()
    assert len(backwards.context["activities"].object_list) == 3  # a bad filter hides nothing
