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


class EnqueueRecorder:
    """Records what campaigns.enqueue hands to Celery (the seam every campaigns task goes
    through). Inside a test transaction nothing would reach a broker anyway: on-commit
    callbacks never run."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, tuple[Any, ...], str, float]] = []

    def __call__(self, name: str, args: Any, *, queue: str, countdown: float = 0.0) -> None:
        self.tasks.append((name, tuple(args), queue, countdown))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for task, args, _, _ in self.tasks if task == name]

    @property
    def calls(self) -> list[tuple[int, str]]:
        """(run id, queue) of each run handed to the send engine, in order, once each."""
        seen: list[tuple[int, str]] = []
        for task, args, queue, _ in self.tasks:
            if task == "campaigns.deliveries_send" and (args[0], queue) not in seen:
                seen.append((args[0], queue))
        return seen


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> EnqueueRecorder:
    recorder = EnqueueRecorder()
    monkeypatch.setattr("campaigns.enqueue._after_commit", recorder)
    return recorder


@pytest.fixture
def dispatched(enqueued: EnqueueRecorder) -> EnqueueRecorder:
    return enqueued
