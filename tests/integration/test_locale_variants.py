"""Per-locale variants end to end: a real Celery worker, the broker and database, and the
push simulator over real HTTP (FCM) and HTTP/2 + TLS (APNs). The simulator's receipts are
what each virtual device was sent."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignRun
from devices.models import Device
from notifications import services
from notifications.simulator import client as sim_client
from tests.delivery_fixtures import apns_token, assert_counters_match, simulator_app
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory, UserFactory
from tests.simulator_fixtures import *  # noqa: F403 - push_simulator fixtures
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sim_app(push_simulator, transactional_db):  # noqa: ANN001, ANN201
    return simulator_app(push_simulator)


def _text(receipt: dict[str, Any]) -> tuple[str, str]:
    """(title, body) as the device shows them, from the request the provider received."""
    message = receipt["message"]
    if receipt["provider"] == "fcm":
        notification = message["notification"]
    else:
        notification = message["aps"]["alert"]
    return notification.get("title", ""), notification["body"]


def test_each_device_gets_its_language_with_the_fallback_chain(
    addon_enabled, sim_app, celery_worker
):
    marketer = UserFactory(role="marketer")
    push = PushNotificationFactory(
        app=sim_app, title="Sale", message="Hi {{lead.First Name:default=there}}"
    )
    services.notification_update(
        notification=push,
        actor=marketer,
        fields={},
        translations={
            "fr": {"title": "Soldes", "message": "Bonjour {{lead.First Name:default=toi}}"},
            "de": {"title": "Angebot", "message": "Hallo {{lead.First Name:default=du}}"},
        },
    )
    services.notification_approve(notification=push, actor=UserFactory(role="approver"))
    # Edited after approval: the draft is not what campaigns send.
    services.notification_update(
        notification=push,
        actor=marketer,
        fields={},
        translations={"fr": {"message": "Brouillon"}, "de": {"message": "Entwurf"}},
    )
    devices: dict[str, Device] = {
        # SDKs report locales in several spellings; both platforms go through the same choice.
        "fr_FR": DeviceFactory(
            app=sim_app,
            platform="android",
            push_token="ok-fr-fr",
            locale="fr_FR",
            lead=LeadFactory(first_name="Amélie"),
        ),
        "fr-CA": DeviceFactory(
            app=sim_app,
            platform="ios",
            push_token=apns_token("f0ca", 1),
            locale="fr-CA",
            lead=LeadFactory(first_name="Gaétan"),
        ),
        "de_DE": DeviceFactory(
            app=sim_app,
            platform="android",
            push_token="ok-de-de",
            locale="de_DE",
            lead=LeadFactory(first_name="Jürgen"),
        ),
        "ja_JP": DeviceFactory(
            app=sim_app,
            platform="ios",
            push_token=apns_token("0a1a", 2),
            locale="ja_JP",
            lead=LeadFactory(first_name="Yuki"),
        ),
    }
    campaign = Campaign.objects.create(
        app=sim_app, notification=push, name="Localized", kind="batch"
    )
    campaign_services.campaign_start(actor=None, campaign=campaign)

    def done() -> CampaignRun | None:
        """the campaign's run completes"""
        return CampaignRun.objects.filter(campaign=campaign, status="completed").first()

    try:
        run = wait_until(done, timeout=60)
    except BaseException:
        print(celery_worker.log())
        raise
    assert run.deliveries.filter(status="sent").count() == 4
    received = {
        locale: [_text(r) for r in sim_client.receipts(device.push_token)]
        for locale, device in devices.items()
    }
    assert received == {
        "fr_FR": [("Soldes", "Bonjour Amélie")],
        "fr-CA": [("Soldes", "Bonjour Gaétan")],
        "de_DE": [("Angebot", "Hallo Jürgen")],
        "ja_JP": [("Sale", "Hi Yuki")],
    }
    assert_counters_match(run)
