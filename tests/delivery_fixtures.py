"""Fixtures for the send path: runs with queued deliveries, configured apps, a scripted
transport for DB-side tests (integration tests use the simulator instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import factory
import pytest
from django.db import connection, models
from django.utils import timezone

from campaigns.ledger.counters import run_counters_add
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, MobileApp, PushCredential
from notifications.content import PushContent
from notifications.models import PushNotification
from notifications.simulator.demo_app import simulator_credentials_install
from notifications.transports.base import Outcome, OutgoingPush, SendResult
from pushmarketing.core.secrets import encrypt_bytes
from tests.factories import DeviceFactory, MobileAppFactory, PushNotificationFactory


def credential_for(app: MobileApp, platform: str) -> PushCredential:
    kind = (
        PushCredential.Kind.APNS_TOKEN
        if platform == "ios"
        else PushCredential.Kind.FCM_SERVICE_ACCOUNT
    )
    return PushCredential.objects.create(
        app=app, platform=platform, kind=kind, secret_encrypted=encrypt_bytes(b"unused")
    )


def run_create(
    *,
    app: MobileApp,
    devices: Iterable[Device],
    kind: str = CampaignRun.Kind.BATCH,
    content: PushContent | None = None,
    status: str = CampaignRun.Status.SENDING,
) -> CampaignRun:
    """A run opened by the ledger with one queued delivery per device (counted as it is
    inserted), not yet dispatched."""
    notification = PushNotificationFactory(app=app)
    frozen = content or PushContent(title="Hello", message="Hi {{lead.First Name:default=there}}")
    now = timezone.now()
    run = run_open(
        kind=kind,
        status=status,
        notification_id=notification.pk,
        app_id=app.pk,
        content=frozen.to_dict(),
        now=now,
    )
    rows = [NewDelivery(device_id=d.pk, lead_id=d.lead_id, platform=d.platform) for d in devices]
    deliveries_insert_returning(run_id=run.pk, rows=rows, now=now)
    run.refresh_from_db()
    return run


@pytest.fixture(autouse=True)
def _private_cache(request: pytest.FixtureRequest) -> None:
    """Every test gets a private, empty cache: keys made of database ids (follow-ups,
    verification, report debounces) must not leak between tests or test runs. Registered
    for the whole suite by tests/conftest.py. Not for integration tests: there the worker
    subprocess and the test share the real cache."""
    if request.node.get_closest_marker("integration"):
        return
    settings = request.getfixturevalue("settings")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def push_app(db: None) -> MobileApp:
    app = MobileAppFactory()
    credential_for(app, "ios")
    credential_for(app, "android")
    return app


@pytest.fixture
def make_devices(push_app: MobileApp) -> Callable[..., list[Device]]:
    def make(n: int, *, platform: str = "android", prefix: str = "ok", **kwargs) -> list[Device]:
        return DeviceFactory.create_batch(
            n,
            app=kwargs.pop("app", push_app),
            platform=platform,
            push_token=factory.Sequence(lambda n: f"{prefix}-{n:08d}"),
            **kwargs,
        )

    return make


class ScriptedTransport:
    """Answers by token prefix like the simulator does: ok-, dead-, bad-, busy-, auth-."""

    def __init__(self) -> None:
        self.sent: list[OutgoingPush] = []
        self.calls = 0

    def __call__(self, *, credential, app, pushes) -> list[SendResult]:  # noqa: ANN001
        self.calls += 1
        self.sent.extend(pushes)
        return [self.answer(push) for push in pushes]

    def stream(self, groups, *, tick: float):  # noqa: ANN001, ANN201 - delivery.transport.pushes_stream
        for credential, app, pushes in groups:
            yield from zip(pushes, self(credential=credential, app=app, pushes=pushes), strict=True)

    def answer(self, push: OutgoingPush) -> SendResult:
        prefix = push.token.split("-", 1)[0]
        if prefix == "dead":
            return SendResult(Outcome.TOKEN_INVALID, reason="UNREGISTERED")
        if prefix == "gone":
            return SendResult(Outcome.TOKEN_INVALID, reason="Unregistered", invalid_since_ms=1000)
        if prefix == "bad":
            return SendResult(Outcome.FAILED, reason="INVALID_ARGUMENT: payload")
        if prefix == "busy":
            return SendResult(Outcome.RETRY, reason="UNAVAILABLE", retry_after=2)
        if prefix == "auth":
            return SendResult(
                Outcome.FAILED, reason="THIRD_PARTY_AUTH_ERROR", credentials_rejected=True
            )
        return SendResult(Outcome.SENT, provider_id=f"pid-{push.delivery_id}")


@pytest.fixture
def scripted_transport(monkeypatch: pytest.MonkeyPatch) -> ScriptedTransport:
    transport = ScriptedTransport()
    monkeypatch.setattr("campaigns.delivery.send.pushes_stream", transport.stream)
    return transport


def simulator_app(simulator, *, app_type: str = MobileApp.AppType.SANDBOX) -> MobileApp:  # noqa: ANN001
    """An app whose credentials the push simulator trusts (APNs .p8 token auth + FCM)."""
    creds = simulator.credentials
    app = MobileAppFactory(ios_bundle_id=creds.apns_topic, app_type=app_type)
    simulator_credentials_install(app=app, creds=creds, token_uri=simulator.fcm_token_uri)
    return app


def apns_token(prefix: str, n: int) -> str:
    """A 64-hex-digit token; the simulator answers by its first four digits."""
    return f"{prefix}{n:060x}"


def assert_counters_match(run: CampaignRun) -> None:
    """The run's per-platform counters equal its delivery rows."""
    from django.db.models import Count

    from campaigns.ledger.counters import runs_counter_drift

    assert runs_counter_drift([run.pk]) == []
    run.refresh_from_db()
    rows = {
        (item["status"], item["platform"]): item["n"]
        for item in run.deliveries.values("status", "platform").annotate(n=Count("id"))
    }
    for status in ("sent", "failed", "token_invalid", "skipped"):
        for platform in ("ios", "android"):
            counter = getattr(run, f"{status}_{platform}")
            assert counter == rows.get((status, platform), 0), (status, platform, counter, rows)


def delivery_recorded(
    *,
    device: Device,
    notification: PushNotification | None = None,
    run: CampaignRun | None = None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    status: str = "sent",
    reason: str = "",
    sent_at: datetime | None = None,
    tapped_at: datetime | None = None,
) -> Delivery:
    """One delivery with its outcome already recorded (an earlier send), written through the
    ledger: the run (opened if not given) counts the row, and its tap when there is one."""
    now = timezone.now()
    if run is None:
        notification = notification or PushNotificationFactory(app=device.app)
        run = run_open(
            kind=CampaignRun.Kind.BATCH,
            status=CampaignRun.Status.SENDING,
            campaign_id=campaign_id,
            notification_id=notification.pk,
            app_id=device.app_id,
            content=notification.approved_content or {},
            now=now,
        )
    row = NewDelivery(
        device_id=device.pk, lead_id=lead_id, platform=device.platform, status=status, reason=reason
    )
    written = deliveries_insert_returning(run_id=run.pk, rows=[row], now=now)
    delivery = Delivery.objects.get(pk=written[device.pk])
    if sent_at is not None or tapped_at is not None:
        delivery.sent_at, delivery.tapped_at = sent_at, tapped_at
        delivery.save(update_fields=["sent_at", "tapped_at"])
    if tapped_at is not None:
        run_counters_add(run_id=run.pk, counts={("tapped", device.platform): 1})
    return delivery


def row_delete_without_cascade(model: type[models.Model], pk: int) -> None:
    """Delete one row as a delete racing an insert can leave it: the rows inserted meanwhile
    stay, which no database FK on the delivery table stops (campaigns.models.Delivery)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608 - table name from model metadata
