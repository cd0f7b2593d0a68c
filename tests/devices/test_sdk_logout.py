# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
"""Logout on a shared phone, through the SDK API and the real audience and trigger code: the
person who logged out is never sent a push on that phone again; whoever logs in next is."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import Delivery
from campaigns.selectors import sendable_devices
from campaigns.services import campaign_activate
from campaigns.triggers import triggers_evaluate
from devices.models import Device, Lead, MobileApp
from tests.api_fixtures import IOS_TOKEN, clean_cache, sdk, sdk_app  # noqa: F401 - fixtures
from tests.campaign_fixtures import (  # noqa: F401 - fixtures
    approve,
    configure_app,
    dispatched,
    enqueued,
    make_campaign,
    run_started,
)
from tests.factories import PushNotificationFactory

pytestmark = pytest.mark.django_db

NINA, OMAR = "nina@example.com", "omar@example.com"


def only(email: str) -> list[dict[str, Any]]:
    return [{"field": "lead_field", "lead_field": "Email Address", "op": "equals", "value": email}]


def sendable_to(app: MobileApp, email: str) -> list[str]:
    devices = sendable_devices(app_id=app.pk, rows=only(email), platforms=["ios", "android"])
    return list(devices.values_list("installation_id", flat=True))


def test_shared_phone_after_logout_reaches_nobody_then_the_next_login(
    sdk, sdk_app, addon_on, dispatched
):
    configure_app(sdk_app)
    push = approve(PushNotificationFactory(app=sdk_app))
    welcome_back = make_campaign(
        app=sdk_app,
        notification=push,
        name="Welcome back, Nina",
        kind="trigger",
        trigger={"event": "opened"},
        audience=only(NINA),
        qualification="every_time",
    )
    campaign_activate(actor=None, campaign=welcome_back)

    sdk.register("X", push_token=IOS_TOKEN)
    assert sdk.post("devices/X/lead", {"email": NINA}).json()["lead_email"] == NINA
    assert sendable_to(sdk_app, NINA) == ["X"]
    # While Nina is logged in, an open fires her trigger (so the zero below means something).
    logged_in_open = sdk.register("X", push_token=IOS_TOKEN).json()["activity_ids"]
    assert triggers_evaluate(activity_ids=logged_in_open) == 1

    logout = sdk.post("devices/X/unregister")
    assert logout.status_code == 200 and logout.json()["lead_email"] is None
    next_open = sdk.register("X", push_token=IOS_TOKEN)  # the app's next launch, same token
    assert next_open.status_code == 200
    device = Device.objects.get()
    assert (device.status, device.push_token, device.lead_id) == ("active", IOS_TOKEN, None)

    assert triggers_evaluate(activity_ids=next_open.json()["activity_ids"]) == 0
    assert sendable_to(sdk_app, NINA) == []
    for_nina = run_started(make_campaign(app=sdk_app, notification=push, audience=only(NINA)))
    assert for_nina is not None and for_nina.total == 0

    assert sdk.post("devices/X/lead", {"email": OMAR}).json()["lead_email"] == OMAR
    for_omar = run_started(
        make_campaign(app=sdk_app, notification=push, name="For Omar", audience=only(OMAR))
    )
    assert for_omar is not None and for_omar.total == 1
    omar = Lead.objects.get(email=OMAR)
    assert list(Delivery.objects.filter(run=for_omar).values_list("device_id", "lead_id")) == [
        (device.pk, omar.pk)
    ]
    assert sendable_to(sdk_app, NINA) == []
