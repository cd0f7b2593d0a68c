"""Campaigns end to end: a real Celery worker subprocess, the real broker and database, and the
push simulator over real HTTP (FCM) and HTTP/2 + TLS (APNs)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.resolve import run_resolve
from devices.models import Device, DeviceActivity
from devices.trigger_outbox import outbox_add
from notifications.simulator import client as sim_client
from pushmarketing.core.api_tokens import api_token_create
from tests.campaign_fixtures import approve
from tests.delivery_fixtures import apns_token, assert_counters_match, simulator_app
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory, UserFactory
from tests.simulator_fixtures import *  # noqa: F403 - push_simulator fixtures
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sim_app(push_simulator, transactional_db):  # noqa: ANN001, ANN201
    return simulator_app(push_simulator)


def android(app, token: str, **kwargs) -> Device:  # noqa: ANN001, ANN003
    return DeviceFactory(app=app, platform="android", push_token=token, **kwargs)


def ios(app, n: int, **kwargs) -> Device:  # noqa: ANN001, ANN003
    return DeviceFactory(app=app, platform="ios", push_token=apns_token("a0a0", n), **kwargs)


def campaign_for(app, **fields) -> Campaign:  # noqa: ANN001, ANN003
    push = approve(PushNotificationFactory(app=app))
    return Campaign.objects.create(
        app=app, notification=push, name="E2E", kind=fields.pop("kind", "batch"), **fields
    )


def receipts() -> Counter:
    return Counter(r["token"] for r in sim_client.receipts(limit=1000))


def completed(campaign: Campaign, worker, timeout: float = 60) -> CampaignRun:  # noqa: ANN001
    def done() -> CampaignRun | None:
        """the campaign's run completes"""
        return CampaignRun.objects.filter(campaign=campaign, status="completed").first()

    try:
        return wait_until(done, timeout=timeout)
    except BaseException:
        print(worker.log())  # shown by pytest on failure: what the worker did
        raise


def test_batch_campaign_reaches_every_eligible_device_exactly_once(
    addon_enabled, sim_app, celery_worker
):
    shared = LeadFactory()
    eligible = [
        android(sim_app, "ok-android-1", lead=shared),
        ios(sim_app, 1, lead=shared),
        android(sim_app, "ok-android-2"),
        ios(sim_app, 2),
    ]
    excluded = [
        android(sim_app, "ok-never-opened", first_opened_at=None),
        android(sim_app, "ok-push-off", push_enabled=False),
        android(sim_app, "ok-no-lead", lead=None),
        ios(sim_app, 3, status=Device.Status.TOKEN_INVALID),
        android(sim_app, "ok-other-locale", locale="de-DE"),
    ]
    for dev in eligible:
        Device.objects.filter(pk=dev.pk).update(locale="en-US")
    campaign = campaign_for(
        sim_app, audience=[{"field": "locale", "op": "starts_with", "value": "en"}]
    )
    services.campaign_start(actor=None, campaign=campaign)  # enqueues on commit

    run = completed(campaign, celery_worker)
    rows = run.deliveries.all()
    assert {d.device_id for d in rows} == {d.pk for d in eligible}
    assert all(d.status == "sent" for d in rows), [(d.status, d.reason) for d in rows]
    got = receipts()
    assert {token: got[token] for token in got} == {d.push_token: 1 for d in eligible}
    assert not any(got[d.push_token] for d in excluded)
    assert_counters_match(run)
    assert (run.total, run.sent_ios, run.sent_android) == (4, 2, 2)
    # The transaction that recorded the last delivery completed the campaign: no read folds it.
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_trigger_fires_once_per_qualifying_activity(addon_enabled, sim_app, celery_worker):
    opener, other = android(sim_app, "ok-opener"), android(sim_app, "ok-sessioner")
    campaign = campaign_for(
        sim_app, kind="trigger", trigger={"event": "opened"}, qualification="every_time"
    )
    services.campaign_start(actor=None, campaign=campaign)
    started = time.time()
    for dev, kind in ((opener, "opened"), (other, "session"), (opener, "opened")):
        with transaction.atomic():  # what the SDK API writes: the row and its outbox entry
            activity = DeviceActivity.objects.create(
                app=sim_app, device=dev, lead=dev.lead, kind=kind, occurred_at=timezone.now()
            )
            outbox_add([activity.pk], now=timezone.now())  # wakes the pump after commit

    def both_received() -> bool:
        """the opener received two pushes"""
        return receipts()["ok-opener"] == 2

    wait_until(both_received, timeout=30)
    elapsed = time.time() - started
    time.sleep(1)  # nothing else arrives late
    assert receipts() == Counter({"ok-opener": 2})
    rows = Delivery.objects.filter(run__campaign=campaign)
    assert sorted(rows.values_list("status", flat=True)) == ["sent", "sent"]
    assert rows.values("run_id").distinct().count() == 2
    assert elapsed < 15, elapsed  # generous on a shared CI machine; the bench measures p99


def started_and_resolved(campaign: Campaign) -> CampaignRun:
    """Send now, resolving the run in this transaction (as the worker's resolve task would):
    its chunks are dispatched when the caller's transaction commits."""
    services.campaign_start(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    assert run is not None
    return run


def test_pause_holds_queued_rows_and_resume_sends_them(addon_enabled, sim_app, celery_worker):
    devices = [android(sim_app, f"ok-paused-{i}") for i in range(3)]
    campaign = campaign_for(sim_app)
    with transaction.atomic():
        run = started_and_resolved(campaign)  # dispatches on commit
        services.campaign_pause(actor=None, campaign=campaign)
    time.sleep(3)  # the worker claims the chunk, sees the pause, gives the rows back
    assert not receipts()
    assert set(run.deliveries.values_list("status", flat=True)) == {"queued"}
    services.campaign_resume(actor=UserFactory(), campaign=campaign)
    run = completed(campaign, celery_worker)
    assert receipts() == Counter({d.push_token: 1 for d in devices})
    assert_counters_match(run)


def test_cancel_skips_everything_not_yet_sent(addon_enabled, sim_app, celery_worker):
    for i in range(3):
        android(sim_app, f"ok-cancel-{i}")
    campaign = campaign_for(sim_app)
    with transaction.atomic():
        run = started_and_resolved(campaign)  # dispatches on commit
        services.campaign_cancel(actor=None, campaign=campaign)
    time.sleep(2)
    assert not receipts()
    assert set(run.deliveries.values_list("status", "reason")) == {("skipped", "cancelled")}
    run.refresh_from_db()
    assert (run.status, run.skipped_android) == ("cancelled", 3)


def test_api_trigger_with_one_idempotency_key_sends_once(addon_enabled, sim_app, celery_worker):
    lead = LeadFactory()
    phone, tablet = android(sim_app, "ok-api-phone", lead=lead), ios(sim_app, 9, lead=lead)
    # The API sends an active trigger campaign's push to named leads (a draft is refused).
    campaign = campaign_for(
        sim_app, kind="trigger", status=Campaign.Status.ACTIVE, trigger={"event": "opened"}
    )
    # Transactional tests flush the role groups the migration made: a superuser is an admin.
    _, plaintext = api_token_create(user=UserFactory(is_superuser=True), name="CRM")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    url = reverse("api-campaign-trigger", args=[campaign.pk])
    body = {"leads": [lead.email], "idempotency_key": "order-42-shipped"}
    assert client.post(url, body, format="json").status_code == 201
    assert client.post(url, body, format="json").status_code == 200
    completed(campaign, celery_worker)
    time.sleep(1)
    assert receipts() == Counter({phone.push_token: 1, tablet.push_token: 1})
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
