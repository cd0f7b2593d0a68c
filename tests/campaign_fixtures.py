"""Shared fixtures for campaign tests: a configured app, an approved push, eligible devices,
and a recorder standing in for the engine's dispatch in unit tests (integration tests use the
real engine, worker and simulator)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from campaigns import services
from campaigns.ledger.counters import run_counters_add
from campaigns.ledger.runs import run_settle_by_id
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.resolve import run_resolve
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


def run_started(campaign: Campaign, *, actor: Any = None) -> CampaignRun | None:
    """Send a batch campaign now (or again, once finished) and resolve the run that opened,
    as the worker's `campaigns.run_resolve` task would. Returns the resolved run."""
    campaign.refresh_from_db()
    if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
        services.campaign_send_again(actor=actor, campaign=campaign)
    else:
        services.campaign_start(actor=actor, campaign=campaign)
    campaign.refresh_from_db()
    if campaign.status == Campaign.Status.SCHEDULED:
        # A schedule already due (a local-time send whose earliest zone reached the time):
        # the scheduler opens the run.
        services.campaigns_due_start(now=timezone.now())
    run = campaign.runs.order_by("-id").first()
    assert run is not None and run.status == CampaignRun.Status.RESOLVING
    return run_resolve(run_id=run.pk)


def deliveries_mark(rows: QuerySet[Delivery], *, status: str, **fields: Any) -> int:
    """Give rows an outcome by hand (what a send would have recorded), keeping each run's
    counters equal to its rows through the ledger's counter table."""
    terminal = set(Delivery.TERMINAL)
    by_run: dict[int, Counter] = {}
    ids = []
    for pk, run_id, platform, old in rows.values_list("pk", "run_id", "platform", "status"):
        ids.append(pk)
        counts = by_run.setdefault(run_id, Counter())
        if old != status:
            if old in terminal:
                counts[(old, platform)] -= 1
            if status in terminal:
                counts[(status, platform)] += 1
    changed = Delivery.objects.filter(pk__in=ids).update(status=status, **fields)
    for run_id, counts in by_run.items():
        run_counters_add(run_id=run_id, counts=counts)
    return changed


def run_finish(run: CampaignRun) -> CampaignRun:
    """Let the ledger settle a run whose rows are all terminal (completing it and, for a
    one-shot batch campaign, the campaign), as the transaction recording its last row would."""
    run_settle_by_id(run_id=run.pk, now=timezone.now())
    run.refresh_from_db()
    return run


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
