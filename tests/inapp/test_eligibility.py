"""The "what should I show now?" endpoint through Django's test client: the first-open rule,
display limits, audience, window, priority, the add-on switch, ETags, and its query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from inapp.models import InAppDisplayState, InAppEvent
from inapp.selectors.dashboard import CSV_HEADER, campaign_events_csv_rows
from inapp.services.campaigns import campaign_pause, campaign_resume, campaign_stop
from tests.api_fixtures import SdkClient, clear_throttle_counts, throttle_claim_statements
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory
from tests.inapp_fixtures import inapp_addon_set, live_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(inapp_on):
    clear_throttle_counts()
    return MobileAppFactory()


@pytest.fixture
def sdk(app) -> SdkClient:
    return SdkClient(app.sdk_key)


def opened_twice(app, installation_id: str = "phone-1", **fields) -> Device:
    first = timezone.now() - dt.timedelta(hours=1)
    return DeviceFactory(
        app=app,
        installation_id=installation_id,
        first_opened_at=first,
        last_opened_at=timezone.now(),
        **fields,
    )


def ask(sdk: SdkClient, installation_id: str = "phone-1", **params):
    params.setdefault("trigger", "app_open")
    return sdk.client.get(
        f"/api/sdk/v1/devices/{installation_id}/inapp",
        params,
        HTTP_AUTHORIZATION=sdk.auth,
        **params.pop("headers", {}),
    )


def event(sdk: SdkClient, campaign_id: int, kind: str, target: str = "", iid: str = "phone-1"):
    body = {"campaign_id": campaign_id, "kind": kind}
    if target:
        body["target"] = target
    return sdk.post(f"devices/{iid}/inapp/events", body)


def test_answer_renders_the_message_for_the_lead_and_platform(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    opened_twice(app, platform="ios", lead=LeadFactory(first_name="Ann"))
    response = ask(sdk)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["campaign_id"] == campaign.pk and body["reason"] == ""
    message = body["message"]
    assert message["title"] == "Hi Ann"
    assert [b["id"] for b in message["buttons"]] == ["button1", "button2"]
    assert message["buttons"][0] | {"label": "Shop"} == {
        "id": "button1",
        "label": "Shop",
        "action": "deep_link",
        "uri": "shop://sale",
    }
    # Android was not given a deep link: a button's action defaults to dismiss.
    assert message["buttons"][1]["action"] == "dismiss"
    assert response["ETag"].startswith('"')


def test_android_gets_its_own_tap_actions(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin)
    opened_twice(app, platform="android")
    button = ask(sdk).json()["message"]["buttons"][0]
    assert (button["action"], button["uri"]) == ("dismiss", "")


def test_first_open_shows_nothing_and_the_second_open_does(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin)
    now = timezone.now()
    DeviceFactory(app=app, installation_id="phone-1", first_opened_at=now, last_opened_at=now)
    first = ask(sdk).json()
    assert (first["message"], first["reason"]) == (None, "first_open")
    Device.objects.filter(installation_id="phone-1").update(
        last_opened_at=now + dt.timedelta(seconds=5)
    )
    assert ask(sdk).json()["message"] is not None


def test_never_opened_device_gets_nothing(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin, trigger="custom_action", trigger_action_name="Checkout")
    DeviceFactory(app=app, installation_id="phone-1", first_opened_at=None, last_opened_at=None)
    body = ask(sdk, trigger="custom_action", action_name="Checkout").json()
    assert (body["message"], body["reason"]) == (None, "never_opened")


def test_custom_action_trigger_answers_only_its_action(app, sdk, inapp_admin):
    campaign = live_campaign(
        app, inapp_admin, trigger="custom_action", trigger_action_name="Checkout"
    )
    opened_twice(app)
    assert ask(sdk).json()["message"] is None
    assert ask(sdk, trigger="custom_action", action_name="Browse").json()["message"] is None
    hit = ask(sdk, trigger="custom_action", action_name="checkout").json()
    assert hit["campaign_id"] == campaign.pk


def test_custom_action_without_name_is_refused_naming_the_field(app, sdk):
    opened_twice(app)
    response = ask(sdk, trigger="custom_action")
    assert response.status_code == 400
    assert "action_name" in response.json()["error"]["fields"]


def test_addon_off_answers_nothing_with_the_reason(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin)
    opened_twice(app)
    inapp_addon_set(False)
    body = ask(sdk).json()
    assert (body["message"], body["reason"]) == (None, "addon_disabled")
    assert event(sdk, 1, "impression").status_code == 403


def test_unknown_or_other_apps_installation_is_404(app, sdk, inapp_admin):
    opened_twice(MobileAppFactory(), installation_id="theirs")
    assert ask(sdk, installation_id="theirs").status_code == 404
    assert ask(sdk, installation_id="nobody").status_code == 404


def test_etag_gives_304_until_the_answer_changes(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    opened_twice(app)
    etag = ask(sdk)["ETag"]
    again = ask(sdk, headers={"HTTP_IF_NONE_MATCH": etag})
    assert again.status_code == 304 and again.content == b""
    campaign_pause(campaign=campaign, actor=inapp_admin)
    changed = ask(sdk, headers={"HTTP_IF_NONE_MATCH": etag})
    assert changed.status_code == 200 and changed.json()["message"] is None
    assert changed["ETag"] != etag


def test_highest_priority_wins_then_the_newest(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin, name="Low", priority=3)
    high = live_campaign(app, inapp_admin, name="High", priority=8)
    opened_twice(app)
    assert ask(sdk).json()["campaign_id"] == high.pk
    newer_high = live_campaign(app, inapp_admin, name="Newer high", priority=8)
    assert ask(sdk).json()["campaign_id"] == newer_high.pk


def test_audience_picks_the_matching_campaign(app, sdk, inapp_admin):
    ios_only = live_campaign(
        app,
        inapp_admin,
        name="iOS",
        priority=9,
        audience=[{"field": "platform", "op": "is", "value": "ios"}],
    )
    not_ios = live_campaign(
        app,
        inapp_admin,
        name="Not iOS",
        priority=1,
        audience=[{"field": "platform", "op": "is", "value": "ios", "negate": True}],
    )
    opened_twice(app, installation_id="droid", platform="android")
    opened_twice(app, installation_id="apple", platform="ios")
    assert ask(sdk, installation_id="droid").json()["campaign_id"] == not_ios.pk
    assert ask(sdk, installation_id="apple").json()["campaign_id"] == ios_only.pk


def test_window_limits_when_a_campaign_shows(app, sdk, inapp_admin):
    now = timezone.now()
    later = live_campaign(
        app, inapp_admin, name="Later", priority=9, starts_at=now + dt.timedelta(hours=1)
    )
    live_campaign(
        app,
        inapp_admin,
        name="Ending",
        priority=5,
        starts_at=now - dt.timedelta(hours=2),
        ends_at=now + dt.timedelta(hours=1),
    )
    opened_twice(app)
    body = ask(sdk).json()
    assert body["campaign_id"] != later.pk and body["message"] is not None
    assert set(ask(sdk).json()) == {"campaign_id", "message_id", "message", "reason"}


def test_paused_stopped_and_resumed(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    opened_twice(app)
    campaign_pause(campaign=campaign, actor=inapp_admin)
    assert ask(sdk).json()["message"] is None
    campaign_resume(campaign=campaign, actor=inapp_admin)
    assert ask(sdk).json()["campaign_id"] == campaign.pk
    campaign_stop(campaign=campaign, actor=inapp_admin)
    assert ask(sdk).json()["message"] is None


def test_events_record_state_and_activity(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    device = opened_twice(app)
    assert event(sdk, campaign.pk, "impression").status_code == 201
    assert event(sdk, campaign.pk, "tap", "button2").status_code == 201
    state = InAppDisplayState.objects.get(campaign=campaign, device=device)
    assert state.impressions == 1 and state.tapped_at is not None
    assert list(InAppEvent.objects.order_by("id").values_list("kind", "target", "platform")) == [
        ("impression", "", "android"),
        ("tap", "button2", "android"),
    ]
    kinds = set(device.activities.values_list("kind", flat=True))
    assert {"inapp_shown", "inapp_tapped"} <= kinds


def test_tap_on_a_button_the_message_lacks_is_refused(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    opened_twice(app)
    response = event(sdk, campaign.pk, "tap", "button3")
    assert response.status_code == 400
    assert "target" in response.json()["error"]["fields"]
    other = live_campaign(MobileAppFactory(), inapp_admin)
    response = event(sdk, other.pk, "impression")
    assert response.status_code == 400
    assert "campaign_id" in response.json()["error"]["fields"]


def test_answer_takes_a_fixed_number_of_queries_whatever_the_campaigns(
    app, sdk, inapp_admin, settings
):
    for index in range(20):
        live_campaign(
            app,
            inapp_admin,
            name=f"C{index}",
            priority=1 + index % 10,
            audience=[{"field": "opened", "within_days": 30}] if index % 2 else [],
            frequency_cap_count=5 if index == 0 else None,
            frequency_cap_hours=24 if index == 0 else None,
        )
    opened_twice(app)
    assert ask(sdk).status_code == 200  # warms the per-app snapshot and the app lookup
    with CaptureQueriesContext(connection) as queries:
        assert ask(sdk).json()["message"] is not None
    statements = [q["sql"] for q in queries.captured_queries]
    # One statement reads the device with its 20 audiences and display states (the capped
    # campaign has the lowest priority, so no impressions read); the throttle may claim a
    # lease on the database cache backend.
    assert len(statements) <= 1 + throttle_claim_statements(), statements
    device_read = [sql for sql in statements if "inapp_inappdisplaystate" in sql]
    assert len(device_read) == 1 and device_read[0].count(' AS "in_') == 20


def test_frequency_cap_across_messages_skips_to_the_next(app, sdk, inapp_admin):
    capped = live_campaign(
        app,
        inapp_admin,
        name="Capped",
        priority=9,
        display_limit="every_time",
        frequency_cap_count=2,
        frequency_cap_hours=24,
    )
    other = live_campaign(app, inapp_admin, name="Other", priority=1, display_limit="every_time")
    opened_twice(app)
    assert ask(sdk).json()["campaign_id"] == capped.pk
    assert event(sdk, capped.pk, "impression").status_code == 201
    assert ask(sdk).json()["campaign_id"] == capped.pk
    assert event(sdk, other.pk, "impression").status_code == 201
    # Two in-app impressions in 24 hours, whichever message: the capped campaign waits.
    assert ask(sdk).json()["campaign_id"] == other.pk


def test_a_rotated_secret_stops_reading_at_once(app, sdk, inapp_admin):
    live_campaign(app, inapp_admin)
    opened_twice(app)
    assert ask(sdk).status_code == 200  # the app lookup is now cached in this process
    type(app).objects.filter(pk=app.pk).update(sdk_secret_hash="rotated")
    assert ask(sdk).status_code == 401


def test_csv_rows_list_each_event_with_its_lead(app, sdk, inapp_admin):
    campaign = live_campaign(app, inapp_admin)
    opened_twice(app, lead=LeadFactory(email="ann@example.com"))
    event(sdk, campaign.pk, "impression")
    event(sdk, campaign.pk, "tap", "button1")
    rows = list(campaign_events_csv_rows(campaign=campaign))
    assert rows[0] == CSV_HEADER
    assert [(r[1], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("impression", "", "ann@example.com", campaign.name),
        ("tap", "button1", "ann@example.com", campaign.name),
    ]


def test_push_off_and_logged_out_devices_still_see_in_app_messages(app, sdk, inapp_admin):
    # In-app reaches users who turned push off; a logged-out device gets the token defaults.
    live_campaign(app, inapp_admin)
    opened_twice(app, push_enabled=False, push_token="", status="unregistered", lead=None)
    message = ask(sdk).json()["message"]
    assert message is not None and message["title"] == "Hi there"
