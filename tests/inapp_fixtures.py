"""Shared fixtures and builders for the in-app tests: the add-on switched on, approved
messages and live campaigns made through the real services."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from devices.authentication import sdk_app_cache_clear
from devices.models import MobileApp
from inapp.models import InAppCampaign, InAppMessage
from inapp.services.campaigns import campaign_approve, campaign_create
from inapp.services.messages import message_approve, message_create
from pushmarketing.core.models import AddOn
from tests.factories import UserFactory


def inapp_addon_set(enabled: bool) -> None:
    AddOn.objects.update_or_create(code=AddOn.Code.IN_APP_MESSAGES, defaults={"enabled": enabled})
    # The SDK path reads the switch through the cache; the service deletes the key on commit.
    cache.clear()


@pytest.fixture
def inapp_on(db: None) -> None:
    sdk_app_cache_clear()
    inapp_addon_set(True)


@pytest.fixture
def inapp_admin(db: None):
    return UserFactory(role="admin")


def approved_message(
    app: MobileApp, actor: Any, *, name: str = "Welcome", **fields: Any
) -> InAppMessage:
    defaults: dict[str, Any] = {
        "name": name,
        "layout": "popup_text",
        "title": "Hi {{lead.First Name:default=there}}",
        "body": f"{name}: 10% off today",
        "buttons": [
            {"label": "Shop", "ios": {"action": "deep_link", "uri": "shop://sale"}},
            {"label": "Later"},
        ],
    }
    defaults.update(fields)
    message = message_create(app=app, actor=actor, fields=defaults)
    return message_approve(message=message, actor=actor)


def live_campaign(
    app: MobileApp,
    actor: Any,
    *,
    message: InAppMessage | None = None,
    name: str = "Greeting",
    **fields: Any,
) -> InAppCampaign:
    message = message or approved_message(app, actor, name=f"{name} message")
    campaign = campaign_create(
        app=app, actor=actor, fields={"name": name, "message": message, **fields}
    )
    return campaign_approve(campaign=campaign, actor=actor)
