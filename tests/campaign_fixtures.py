"""Shared fixtures for campaign tests: a configured app, an approved push, eligible devices,
and a recorder standing in for the engine's dispatch in unit tests (integration tests use the
real engine, worker and simulator)."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import Campaign
from devices.models import Device, MobileApp, PushCredential
from notifications.content import PushContent
from notifications.models import PushNotification
from tests.factories import DeviceFactory, MobileAppFactory, PushNotificationFactory


def configure_app(app: MobileApp, platforms: tuple[str, ...] = ("ios", "android")) -> MobileApp:
    kinds = {"ios": "apns_token", "android": "fcm_service_account"}
    for platform in platforms:
        PushCredential.objects.create(
            app=app, platform=platform, kind=kinds[platform], secret_encrypted="x"
        )
    return app


def approve(notification: PushNotification, **content: Any) -> PushNotification:
    notification.approved_content = PushContent(
        message=notification.message, title=notification.title, **content
    ).to_dict()
    notification.status = PushNotification.Status.APPROVED
    notification.save()
    return notification


def make_campaign(
    *, app: MobileApp, notification: PushNotification | None = None, **fields: Any
) -> Campaign:
    notification = notification or approve(PushNotificationFactory(app=app))
    defaults: dict[str, Any] = {"name": "Spring sale", "kind": Campaign.Kind.BATCH}
    defaults.update(fields)
    return Campaign.objects.create(app=app, notification=notification, **defaults)


def device(app: MobileApp, platform: str = "android", **fields: Any) -> Device:
    if platform == "ios":
        fields.setdefault("push_token", f"{len(Device.objects.all()):064x}")
    return DeviceFactory(app=app, platform=platform, **fields)


@pytest.fixture
def app(db: None) -> MobileApp:
    return configure_app(MobileAppFactory())


@pytest.fixture
def push(app: MobileApp) -> PushNotification:
    return approve(PushNotificationFactory(app=app))


class DispatchRecorder:
    """Records hand-offs to the engine and passes them through to the real dispatch (which
    enqueues on commit: inside a test transaction nothing reaches a broker)."""

    def __init__(self, real: Any) -> None:
        self.calls: list[tuple[int, str]] = []
        self.real = real

    def __call__(self, *, run_id: int, queue: str) -> int:
        self.calls.append((run_id, queue))
        return self.real(run_id=run_id, queue=queue)


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> DispatchRecorder:
    from campaigns import services

    recorder = DispatchRecorder(services.run_dispatch)
    monkeypatch.setattr("campaigns.services.run_dispatch", recorder)
    return recorder
