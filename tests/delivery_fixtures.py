"""Fixtures for the send path: runs with queued deliveries, configured apps, a scripted
transport for DB-side tests (integration tests use the simulator instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import factory
import pytest
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery
from devices.models import Device, MobileApp, PushCredential
from notifications.content import PushContent
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
    notification = PushNotificationFactory(app=app)
    frozen = content or PushContent(title="Hello", message="Hi {{lead.First Name:default=there}}")
    run = CampaignRun.objects.create(
        kind=kind,
        status=status,
        notification=notification,
        app=app,
        content=frozen.to_dict(),
        started_at=timezone.now(),
    )
    devices = list(devices)
    Delivery.objects.bulk_create(
        [Delivery(run=run, device=d, platform=d.platform, lead_id=d.lead_id) for d in devices]
    )
    run.total = len(devices)
    run.queued_ios = sum(d.platform == "ios" for d in devices)
    run.queued_android = sum(d.platform == "android" for d in devices)
    run.save(update_fields=["total", "queued_ios", "queued_android"])
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
    monkeypatch.setattr("campaigns.delivery.send.pushes_send", transport)
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

    run.refresh_from_db()
    rows = {
        (item["status"], item["platform"]): item["n"]
        for item in run.deliveries.values("status", "platform").annotate(n=Count("id"))
    }
    for status in ("sent", "failed", "token_invalid", "skipped"):
        for platform in ("ios", "android"):
            counter = getattr(run, f"{status}_{platform}")
            assert counter == rows.get((status, platform), 0), (status, platform, counter, rows)
