"""In-app messages as a phone drives them, over real HTTP against a live server (its own
thread, its own database connection, the shared cache): register (each call is an app open),
log in, ask "what should I show now?", report impressions, taps and dismissals.

No Celery worker or push simulator: nothing on the in-app path is queued or pushed; what is
real is HTTP, the SDK authentication, the database transactions and the cache that carries
the add-on switch and each app's live campaigns between processes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from django.utils import timezone

from devices.models import DeviceActivity, Lead
from inapp.services.addon import addon_in_app_set_enabled
from inapp.services.campaigns import campaign_pause
from pushmarketing.core.api_tokens import api_token_create
from tests.api_fixtures import FCM_TOKEN, basic_auth, clear_throttle_counts
from tests.factories import MobileAppFactory, UserFactory
from tests.inapp_fixtures import approved_message, inapp_addon_set, live_campaign

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Phone:
    """One installation of the app, speaking the SDK API over HTTP."""

    def __init__(self, base_url: str, sdk_key: str, installation_id: str, platform: str) -> None:
        self.base = f"{base_url}/api/sdk/v1/devices"
        self.session = requests.Session()
        self.session.headers["Authorization"] = basic_auth(sdk_key)
        self.installation_id = installation_id
        self.platform = platform
        self.shown: dict[str, Any] = {}

    def open(self) -> None:
        body = {"installation_id": self.installation_id, "platform": self.platform}
        if self.platform == "android":
            body["push_token"] = FCM_TOKEN
        response = self.session.post(f"{self.base}/register", json=body, timeout=10)
        assert response.status_code in (200, 201), response.text

    def login(self, email: str, first_name: str) -> None:
        response = self.session.post(
            f"{self.base}/{self.installation_id}/lead",
            json={"email": email, "first_name": first_name},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    def ask(self, trigger: str = "app_open", action_name: str = "") -> dict[str, Any]:
        params = {"trigger": trigger}
        if action_name:
            params["action_name"] = action_name
        response = self.session.get(
            f"{self.base}/{self.installation_id}/inapp", params=params, timeout=10
        )
        assert response.status_code == 200, response.text
        self.shown = response.json()
        return self.shown

    def report(self, kind: str, target: str = "") -> requests.Response:
        body: dict[str, Any] = {"campaign_id": self.shown["campaign_id"], "kind": kind}
        if target:
            body["target"] = target
        return self.session.post(
            f"{self.base}/{self.installation_id}/inapp/events", json=body, timeout=10
        )


@pytest.fixture
def setup(live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    clear_throttle_counts()
    inapp_addon_set(True)
    # A superuser is an admin (the role groups come from a migration a flush removes).
    admin = UserFactory(is_superuser=True)
    app = MobileAppFactory()
    return live_server.url, app, admin


# Each step: "open" (register = an app open), "show" / "none" (ask and expect a message or
# not), or an event the phone reports about what it shows ("impression", "tap", "dismiss").
SCRIPTS = {
    "once_per_session": [
        "open",
        "none",  # the first open never shows an App Open message
        "open",
        "show",
        "impression",
        "none",  # seen this session
        "open",
        "show",
        "impression",
        "tap",
        "none",
        "open",
        "show",  # a tap does not end a once-per-session message
    ],
    "until_tapped": [
        "open",
        "none",
        "open",
        "show",
        "impression",
        "show",
        "dismiss",
        "show",
        "impression",
        "open",
        "show",
        "tap",
        "none",
        "open",
        "none",  # tapped: never again
    ],
    "every_time": [
        "open",
        "none",
        "open",
        "show",
        "impression",
        "show",
        "tap",
        "show",
        "dismiss",
        "show",
        "open",
        "show",
    ],
}


@pytest.mark.parametrize("display_limit", list(SCRIPTS))
def test_display_limit_over_opens_taps_and_sessions(setup, display_limit):
    base, app, admin = setup
    campaign = live_campaign(app, admin, display_limit=display_limit)
    phone = Phone(base, app.sdk_key, "phone-1", "android")
    for step, action in enumerate(SCRIPTS[display_limit]):
        if action == "open":
            phone.open()
        elif action in ("show", "none"):
            answer = phone.ask()
            shown = answer["campaign_id"] == campaign.pk and answer["message"] is not None
            assert shown == (action == "show"), (step, answer)
        else:
            target = "button1" if action == "tap" else ""
            assert phone.report(action, target).status_code == 201, (step, action)


def test_first_open_never_shows_and_the_second_does_for_a_logged_in_lead(setup):
    base, app, admin = setup
    live_campaign(app, admin)
    phone = Phone(base, app.sdk_key, "phone-1", "ios")
    phone.open()
    phone.login("ann@example.com", "Ann")
    first = phone.ask()
    assert (first["message"], first["reason"]) == (None, "first_open")
    phone.open()
    second = phone.ask()["message"]
    assert second["title"] == "Hi Ann"
    assert second["buttons"][0]["action"] == "deep_link"  # iOS's action on button 1


def test_audience_window_and_priority_choose_the_message(setup):
    base, app, admin = setup
    now = timezone.now()
    gold = live_campaign(
        app,
        admin,
        name="Gold members",
        priority=9,
        audience=[{"field": "lead_field", "lead_field": "tier", "op": "equals", "value": "gold"}],
    )
    future = live_campaign(
        app, admin, name="Next week", priority=10, starts_at=now + dt.timedelta(days=7)
    )
    expired = live_campaign(
        app,
        admin,
        name="Last week",
        priority=10,
        starts_at=now - dt.timedelta(days=14),
        ends_at=now + dt.timedelta(seconds=1),
    )
    everyone = live_campaign(app, admin, name="Everyone", priority=2)
    checkout = live_campaign(
        app,
        admin,
        name="Checkout",
        priority=1,
        trigger="custom_action",
        trigger_action_name="Checkout",
    )
    gold_phone = Phone(base, app.sdk_key, "gold", "android")
    plain_phone = Phone(base, app.sdk_key, "plain", "ios")
    for phone in (gold_phone, plain_phone):
        phone.open()
        phone.open()
    gold_phone.login("gold@example.com", "Gil")
    Lead.objects.filter(email="gold@example.com").update(custom_fields={"tier": "gold"})
    # Let the "Last week" campaign's end pass.
    while timezone.now() < expired.ends_at:
        pass
    assert gold_phone.ask()["campaign_id"] == gold.pk
    assert plain_phone.ask()["campaign_id"] == everyone.pk
    assert plain_phone.ask("custom_action", "Checkout")["campaign_id"] == checkout.pk
    assert future.pk not in {gold_phone.shown["campaign_id"], plain_phone.shown["campaign_id"]}


def test_addon_off_shows_nothing_and_refuses_events_until_on_again(setup):
    base, app, admin = setup
    campaign = live_campaign(app, admin)
    phone = Phone(base, app.sdk_key, "phone-1", "android")
    phone.open()
    phone.open()
    assert phone.ask()["campaign_id"] == campaign.pk
    addon_in_app_set_enabled(enabled=False, actor=admin)
    answer = phone.ask()
    assert (answer["message"], answer["reason"]) == (None, "addon_disabled")
    phone.shown = {"campaign_id": campaign.pk}
    refused = phone.report("impression")
    assert refused.status_code == 403
    assert "In-app messages add-on" in refused.json()["error"]["message"]
    addon_in_app_set_enabled(enabled=True, actor=admin)
    assert phone.ask()["campaign_id"] == campaign.pk


def test_events_reach_the_dashboard_and_the_lead_activity_log(setup):
    base, app, admin = setup
    campaign = live_campaign(app, admin, display_limit="every_time")
    phone = Phone(base, app.sdk_key, "phone-1", "android")
    phone.open()
    phone.login("ann@example.com", "Ann")
    phone.open()
    phone.ask()
    assert phone.report("impression").status_code == 201
    assert phone.report("tap", "button2").status_code == 201
    phone.ask()
    assert phone.report("impression").status_code == 201
    assert phone.report("dismiss").status_code == 201
    _, token = api_token_create(user=admin, name="dashboard")
    detail = requests.get(
        f"{base}/api/v1/inapp/campaigns/{campaign.pk}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert detail.status_code == 200, detail.text
    android = detail.json()["figures"]["android"]
    assert android | {"eligible_devices": 0} == {
        "eligible_devices": 0,
        "impressions": 2,
        "unique_viewers": 1,
        "taps": 1,
        "unique_tappers": 1,
        "dismissals": 1,
        "taps_by_target": {"button2": 1},
        "tap_through_rate_percent": 100.0,
    }
    assert android["eligible_devices"] == 1
    logged = DeviceActivity.objects.filter(lead__email="ann@example.com").values_list(
        "kind", "details"
    )
    assert ("inapp_tapped", "Greeting · button2") in set(logged)
    assert {"inapp_shown", "inapp_dismissed"} <= {kind for kind, _ in logged}


def test_a_paused_campaign_stops_showing_at_once_across_processes(setup):
    base, app, admin = setup
    campaign = live_campaign(app, admin, display_limit="every_time")
    other = approved_message(app, admin, name="Fallback")
    fallback = live_campaign(app, admin, message=other, name="Fallback", priority=1)
    phone = Phone(base, app.sdk_key, "phone-1", "android")
    phone.open()
    phone.open()
    assert phone.ask()["campaign_id"] == campaign.pk  # cached in the server's snapshot
    campaign_pause(campaign=campaign, actor=admin)
    assert phone.ask()["campaign_id"] == fallback.pk
