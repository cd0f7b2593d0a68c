"""The whole trigger chain as a phone drives it: SDK API call -> activity rows -> the API's
after-commit hand-off -> campaigns.triggers_evaluate in a real worker -> the send engine ->
the simulator's virtual device."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from campaigns import services
from campaigns.models import Campaign, Delivery
from notifications.simulator import client as sim_client
from pushmarketing.core.models import AddOn
from tests.api_fixtures import SdkClient, clear_throttle_counts
from tests.campaign_fixtures import approve
from tests.delivery_fixtures import simulator_app
from tests.factories import PushNotificationFactory
from tests.simulator_fixtures import *  # noqa: F403 - push_simulator fixtures
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_session_reported_by_the_sdk_fires_the_trigger_once(push_simulator, celery_worker):
    from devices.authentication import sdk_app_cache_clear

    clear_throttle_counts()
    sdk_app_cache_clear()
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = simulator_app(push_simulator)
    campaign = Campaign.objects.create(
        app=app,
        notification=approve(PushNotificationFactory(app=app)),
        name="Welcome back",
        kind=Campaign.Kind.TRIGGER,
        trigger={"event": "session"},
        qualification=Campaign.Qualification.EVERY_TIME,
    )
    services.campaign_start(actor=None, campaign=campaign)
    sdk = SdkClient(app.sdk_key)
    token = "ok-sdk-phone-" + "a1B2c3D4e5" * 12  # a well-formed FCM registration token
    assert sdk.register("phone-1", platform="android", push_token=token).status_code in (200, 201)
    assert sdk.post("devices/phone-1/lead", {"email": "jane@example.com"}).status_code == 200
    time.sleep(1.5)  # let the registration's own activities (installed, opened) be evaluated
    before = Counter(r["token"] for r in sim_client.receipts(limit=100))

    started = time.time()
    response = sdk.post("devices/phone-1/activities", [{"kind": "session", "length_seconds": 42}])
    assert response.status_code in (200, 201), response.content

    def received() -> bool:
        """the phone received the trigger's push"""
        return Counter(r["token"] for r in sim_client.receipts(limit=100))[token] > before[token]

    wait_until(received, timeout=20)
    latency = time.time() - started
    time.sleep(1)
    after = Counter(r["token"] for r in sim_client.receipts(limit=100))
    assert after[token] - before[token] == 1
    assert before[token] == 0  # registering is not a session: nothing was sent for it
    delivery = Delivery.objects.get(run__campaign=campaign)
    assert (delivery.status, delivery.device.installation_id) == ("sent", "phone-1")
    assert latency < 10, latency  # loose on a shared machine; bench/fanout.py reports p50/p99
