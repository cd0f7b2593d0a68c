"""Samples and Verify push configuration overtake a trigger backlog: they have a queue and a
worker lane of their own. Production's shape (docker-compose.yml): one worker for
send,bulk,default and one for `interactive` alone; the real broker, database and simulator."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.delivery.sample import sample_send
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, PushCredential
from notifications.simulator import client as sim_client
from notifications.verification import push_credential_verify_request
from tests.bulk_seed import seed_deliveries, seed_devices
from tests.delivery_fixtures import apns_token, simulator_app
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory, UserFactory
from tests.worker_fixtures import *  # noqa: F403 - worker_lanes fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BACKLOG = 10_000
S = Delivery.Status


def _trigger_backlog(app) -> CampaignRun:  # noqa: ANN001
    """A trigger run with BACKLOG queued deliveries, one per device of `app` (not dispatched)."""
    seed_devices(app_id=app.pk, count=BACKLOG, prefix="backlog")
    # Trigger pushes go to a lead's devices (without one they are skipped, not sent).
    Device.objects.filter(app=app).update(lead=LeadFactory())
    notification = PushNotificationFactory(app=app)
    with transaction.atomic():
        run = run_open(
            kind=CampaignRun.Kind.TRIGGER,
            status=CampaignRun.Status.SENDING,
            notification_id=notification.pk,
            app_id=app.pk,
            content={"title": "Back in stock", "message": "Your size is back"},
            now=timezone.now(),
        )
        assert seed_deliveries(run_id=run.pk, app_id=app.pk, status=S.QUEUED) == BACKLOG
    return run


@pytest.fixture
def provider_latency(push_simulator):  # noqa: ANN001, ANN201
    """100 ms per request, as from a data centre to Apple and Google: a 1,000-row chunk takes
    a few round trips, so the backlog lasts seconds on any machine, as it does in production."""
    sim_client.configure(latency_ms=100)
    yield
    sim_client.configure(latency_ms=0)


def _backlog_left(run: CampaignRun) -> int:
    return Delivery.objects.filter(run=run, status__in=[S.QUEUED, S.SENDING]).count()


def test_a_sample_completes_in_under_5_s_behind_10000_queued_trigger_deliveries(
    addon_enabled, push_simulator, provider_latency, worker_lanes
):
    sends, lane = worker_lanes
    app = simulator_app(push_simulator)
    backlog = _trigger_backlog(app)
    phones = [
        DeviceFactory(app=app, push_token="ok-lane-pixel", is_test_device=True, lead=None),
        DeviceFactory(
            app=app, platform="ios", push_token=apns_token("a0a0", 7), is_test_device=True
        ),
    ]
    draft = PushNotificationFactory(app=app, title="Sample")
    with transaction.atomic():
        chunks = deliveries_dispatch(run=backlog)  # on `send`
    assert chunks == BACKLOG // django_settings.PUSH_CHUNK_SIZE
    # The sends worker has claimed its first chunk: from here it is busy for the whole backlog.
    wait_until(lambda: backlog.deliveries.filter(status=S.QUEUED).count() < BACKLOG, timeout=30)

    started = time.monotonic()
    with transaction.atomic():
        sample = sample_send(
            notification=draft, device_ids=[p.pk for p in phones], lead=None, actor=UserFactory()
        )

    def sample_done() -> bool:
        """every sample delivery is terminal"""
        return not sample.deliveries.exclude(status__in=Delivery.TERMINAL).exists()

    wait_until(sample_done, timeout=30, interval=0.05)
    elapsed = time.monotonic() - started
    left = _backlog_left(backlog)
    print(
        f"\nsample completed in {elapsed:.2f} s with {left:,} of {BACKLOG:,} trigger deliveries "
        "still queued or sending"
    )
    assert set(sample.deliveries.values_list("status", flat=True)) == {S.SENT}
    assert elapsed < 5
    assert left > 0, "the backlog drained first: this run proves nothing about overtaking it"
    assert not backlog.deliveries.filter(status=S.SKIPPED).exists()  # sent, not skipped
    # Logged just after the rows are recorded.
    wait_until(lambda: f"send: run {sample.pk} [" in lane.log(), timeout=5)
    assert f"send: run {sample.pk} [" not in sends.log()

    assert PushCredential.objects.get(app=app, platform="android").verified_at is None
    started = time.monotonic()
    with transaction.atomic():
        push_credential_verify_request(app=app, platform="android", actor=UserFactory())

    def verified() -> bool:
        """the verification finished"""
        credential = PushCredential.objects.get(app=app, platform="android")
        return credential.verified_at is not None

    wait_until(verified, timeout=30, interval=0.05)
    elapsed = time.monotonic() - started
    left = _backlog_left(backlog)
    print(f"verification finished in {elapsed:.2f} s with {left:,} trigger deliveries left")
    assert elapsed < 5
    wait_until(lambda: "verify: app" in lane.log(), timeout=5)
    assert "verify: app" not in sends.log()
