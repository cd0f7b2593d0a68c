"""Seeded objects for the API contract tests: an app, an admin's API token, a device with a
lead, a push with a French translation, and a triggered campaign run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from campaigns import services
from campaigns.models import Campaign
from devices.api import EXAMPLE_INSTALLATION_ID
from notifications.models import PushTranslation
from pushmarketing.core.api_tokens import api_token_create
from pushmarketing.core.models import AddOn
from tests.campaign_fixtures import approve, configure_app, device, make_campaign
from tests.factories import LeadFactory, MobileAppFactory, PushNotificationFactory, UserFactory
from tests.inapp_fixtures import inapp_addon_set, live_campaign

UNLIMITED = "1000000/min"


@dataclass(frozen=True)
class Seeded:
    sdk_key: str
    api_token: str
    path_parameters: dict[str, Any]


@pytest.fixture
def seeded(db: None, clean_cache: None, settings: Any) -> Seeded:
    # Throttles stay in the path but must not turn the run into 429s.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "sdk_app": UNLIMITED,
            "management": UNLIMITED,
            "sdk_auth_failure": UNLIMITED,
        },
    }
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    inapp_addon_set(True)
    app = configure_app(MobileAppFactory())
    admin = UserFactory(role="admin")
    token, plaintext = api_token_create(user=admin, name="schemathesis")
    lead = LeadFactory(custom_fields={"tier": "gold", "points": 1200, "vip": True})
    # The installation of the schema's examples, so that they reach a device that exists.
    phone = device(app, platform="ios", installation_id=EXAMPLE_INSTALLATION_ID, lead=lead)
    push = approve(PushNotificationFactory(app=app))
    # A translation the push's translation reads find (and writes replace).
    PushTranslation.objects.create(notification=push, locale="fr", message="Bonjour")
    campaign = make_campaign(
        app=app,
        notification=push,
        kind=Campaign.Kind.TRIGGER,
        status=Campaign.Status.ACTIVE,
        trigger={"event": "opened"},
    )
    run, _ = services.campaign_api_trigger(
        actor=admin,
        token=token,
        campaign=campaign,
        emails=[lead.email],
        lead_ids=[],
        idempotency_key="schemathesis-seed",
    )
    # A live in-app campaign the example installation is shown (it opened twice).
    phone.first_opened_at = phone.last_opened_at - dt.timedelta(hours=1)
    phone.save(update_fields=["first_opened_at"])
    inapp_campaign = live_campaign(app, admin, name="Schemathesis in-app")
    return Seeded(
        sdk_key=app.sdk_key,
        api_token=plaintext,
        path_parameters={
            "installation_id": phone.installation_id,
            "id": app.pk,
            "app_id": app.pk,
            "lead_id": lead.pk,
            "campaign_id": campaign.pk,
            "run_id": run.pk,
            "notification_id": push.pk,
            "locale": "fr",
            "inapp_message_id": inapp_campaign.message_id,
            "inapp_campaign_id": inapp_campaign.pk,
        },
    )
