"""The send path end to end: a real Celery worker subprocess, the real broker and database,
the push simulator over real HTTP/1.1 (FCM) and HTTP/2 + TLS (APNs)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.delivery import tasks
from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.delivery.sweep import deliveries_sweep
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, PushCredential
from notifications.simulator import client as sim_client
from pushmarketing.core.addons import addon_set_enabled
from tests.delivery_fixtures import apns_token, assert_counters_match, run_create, simulator_app
from tests.factories import DeviceFactory, UserFactory
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
S = Delivery.Status


@pytest.fixture
def app(push_simulator, transactional_db):  # noqa: ANN001, ANN201
    return simulator_app(push_simulator)


def _android(app, token: str, **kwargs) -> Device:  # noqa: ANN001, ANN003
    return DeviceFactory(app=app, platform="android", push_token=token, **kwargs)


def _ios(app, token: str, **kwargs) -> Device:  # noqa: ANN001, ANN003
    return DeviceFactory(app=app, platform="ios", push_token=token, **kwargs)


def _start(app, devices, **kwargs) -> CampaignRun:  # noqa: ANN001, ANN003
    with transaction.atomic():
        run = run_create(app=app, devices=devices, **kwargs)
        deliveries_dispatch(run=run)  # a batch run: the bulk queue
    return run


def _finished(run: CampaignRun, timeout: float = 60) -> CampaignRun:
    def done() -> bool:
        """the run completes"""
        run.refresh_from_db()
        return run.status == CampaignRun.Status.COMPLETED

    try:
        wait_until(done, timeout=timeout)
    except BaseException:
        print(list(run.deliveries.values_list("id", "status", "attempts", "reason", "not_before")))
        raise
    return run


def _receipts_per_token() -> Counter:
    return Counter(r["token"] for r in sim_client.receipts(limit=1000))


def test_success_end_to_end_on_both_providers(addon_enabled, app, celery_worker):
    android = [_android(app, f"ok-android-{i}") for i in range(3)]
    ios = [_ios(app, apns_token("a0a0", i)) for i in range(2)]

    run = _finished(_start(app, android + ios))

    for delivery in run.deliveries.all():
        assert delivery.status == S.SENT, delivery.reason
        assert delivery.provider_id
        assert delivery.attempts == 1
    received = _receipts_per_token()
    assert {d.push_token: received[d.push_token] for d in android + ios} == {
        d.push_token: 1 for d in android + ios
    }
    fcm = next(r for r in sim_client.receipts(android[0].push_token))
    assert fcm["message"]["notification"]["body"].startswith("Hi First")
    apns = next(r for r in sim_client.receipts(ios[0].push_token))
    assert apns["environment"] == "sandbox"
    assert (run.sent_android, run.sent_ios) == (3, 2)
    assert_counters_match(run)


def test_permanent_errors_reach_terminal_states_and_deactivate_dead_tokens(
    addon_enabled, app, celery_worker
):
    later = timezone.now() + timedelta(hours=1)
    devices = {
        "fcm_unregistered": _android(app, "dead-android-1"),
        "fcm_badtoken": _android(app, "x-badtoken-1"),
        "fcm_mismatch": _android(app, "x-mismatch-1"),
        "apns_gone": _ios(app, apns_token("dead", 1), token_updated_at=None),
        # Re-registered after APNs' 410 timestamp: must stay active.
        "apns_gone_reregistered": _ios(app, apns_token("dead", 2), token_updated_at=later),
        "apns_bad": _ios(app, apns_token("bad0", 3)),
        "apns_topic": _ios(app, apns_token("70b1", 4)),
        "ok": _android(app, "ok-android-9"),
    }
    run = _finished(_start(app, list(devices.values())))

    status = {d.device_id: d for d in run.deliveries.all()}
    for name, device in devices.items():
        device.refresh_from_db()
        delivery = status[device.id]
        if name == "ok":
            assert delivery.status == S.SENT
            assert device.status == Device.Status.ACTIVE
        elif name == "apns_gone_reregistered":
            assert delivery.status == S.TOKEN_INVALID
            assert device.status == Device.Status.ACTIVE, name
        else:
            assert delivery.status == S.TOKEN_INVALID, (name, delivery.reason)
            assert device.status == Device.Status.TOKEN_INVALID, name
            assert device.status_reason
    assert_counters_match(run)


def test_rejected_credentials_fail_and_flag_the_app(addon_enabled, app, celery_worker):
    run = _finished(_start(app, [_android(app, "x-authfail-1")]))

    delivery = run.deliveries.get()
    assert delivery.status == S.FAILED
    assert "THIRD_PARTY_AUTH_ERROR" in delivery.reason
    credential = PushCredential.objects.get(app=app, platform="android")
    assert credential.verification == PushCredential.Verification.FAILED
    assert_counters_match(run)


def test_rejected_apns_key_fails_the_batch_and_flags_the_app(
    addon_enabled, app, celery_worker, push_simulator
):
    PushCredential.objects.filter(app=app, platform="ios").update(
        public_meta={"key_id": "UNKNOWN123", "team_id": push_simulator.credentials.apns_team_id}
    )
    run = _finished(_start(app, [_ios(app, apns_token("a3a3", i)) for i in range(2)]))

    for delivery in run.deliveries.all():
        assert delivery.status == S.FAILED
        assert "InvalidProviderToken" in delivery.reason
        assert delivery.device.status == Device.Status.ACTIVE  # the device is not to blame
    credential = PushCredential.objects.get(app=app, platform="ios")
    assert credential.verification == PushCredential.Verification.FAILED
    assert "InvalidProviderToken" in credential.verification_reason
    assert_counters_match(run)


def test_transient_errors_are_retried_then_sent(addon_enabled, app, celery_worker, push_simulator):
    sim_client.configure(fault_rate=1.0, fault_statuses=[429, 503], retry_after_seconds=1)
    devices = [_android(app, f"ok-retry-{i}") for i in range(3)] + [
        _ios(app, apns_token("a1a1", i)) for i in range(2)
    ]
    run = _start(app, devices)

    def all_retrying() -> bool:
        """every delivery failed once and is queued for a retry"""
        return run.deliveries.filter(status=S.QUEUED, attempts__gte=1).count() == len(devices)

    wait_until(all_retrying, timeout=30)
    sim_client.configure(fault_rate=0.0)
    _finished(run)

    for delivery in run.deliveries.all():
        assert delivery.status == S.SENT
        assert delivery.attempts >= 2
    assert_counters_match(run)


def test_transient_errors_give_up_after_max_attempts(addon_enabled, app, celery_worker):
    celery_worker.restart(PUSH_MAX_ATTEMPTS="3")
    run = _finished(
        _start(app, [_android(app, "x-unavailable-1"), _ios(app, apns_token("5030", 1))])
    )

    for delivery in run.deliveries.all():
        assert delivery.status == S.FAILED
        assert delivery.attempts == 3
        assert delivery.reason.startswith("gave up after 3 attempts:")
    assert_counters_match(run)


def test_duplicate_task_delivery_sends_nothing_twice(addon_enabled, app, celery_worker):
    devices = [_android(app, f"ok-dup-{i}") for i in range(4)]
    with transaction.atomic():
        run = run_create(app=app, devices=devices)
        ids = sorted(run.deliveries.values_list("id", flat=True))
        deliveries_dispatch(run=run)  # a batch run: the bulk queue
        # The same chunk delivered twice more (broker redelivery, a duplicate publish).
        for _ in range(2):
            transaction.on_commit(
                lambda: tasks.deliveries_send.apply_async(
                    args=(run.id, ids[0], ids[-1]), queue="bulk"
                )
            )
    _finished(run)
    # A later run on the same queue: once it is done, the duplicates were processed too.
    _finished(_start(app, [_android(app, "ok-sentinel")]))

    received = _receipts_per_token()
    assert [received[d.push_token] for d in devices] == [1, 1, 1, 1]
    assert_counters_match(run)


def test_worker_killed_mid_batch_loses_nothing(
    addon_enabled, app, celery_worker, push_simulator, settings
):
    sim_client.configure(latency_ms=3000)
    devices = [_android(app, f"ok-kill-{i}") for i in range(6)]
    run = _start(app, devices)

    def claimed() -> int:
        """the worker claimed the batch"""
        return run.deliveries.filter(status=S.SENDING).count()

    in_flight = wait_until(claimed, timeout=30)
    celery_worker.kill()
    sim_client.configure(latency_ms=0)

    settings.PUSH_SENDING_TIMEOUT_SECONDS = 0
    swept = deliveries_sweep(now=timezone.now() + timedelta(seconds=1))
    assert swept == in_flight
    assert run.deliveries.filter(status=S.QUEUED, reason__contains="worker stopped").count() == (
        in_flight
    )
    celery_worker.start()
    _finished(run)

    assert set(run.deliveries.values_list("status", flat=True)) == {S.SENT}
    received = _receipts_per_token()
    assert all(received[d.push_token] >= 1 for d in devices)
    resent = sum(received[d.push_token] - 1 for d in devices)
    # The window between the provider's answer and our write: reported, and bounded.
    print(f"worker killed with {in_flight} in flight: {resent} message(s) sent twice")
    assert resent <= in_flight
    # A message sent twice carries the same tag (Android's collapse id), so the phone shows it once.
    for device in devices:
        copies = [r for r in sim_client.receipts(token=device.push_token) if r.get("message")]
        tags = {r["message"]["android"]["notification"]["tag"] for r in copies}
        assert len(tags) == 1, (device.push_token, tags)
    assert_counters_match(run)


def test_addon_switched_off_mid_run_skips_the_rest(
    addon_enabled, app, celery_worker, push_simulator, settings
):
    settings.PUSH_CHUNK_SIZE = 2
    sim_client.configure(latency_ms=1500)
    devices = [_android(app, f"ok-off-{i}") for i in range(6)]
    run = _start(app, devices)

    def first_chunk_claimed() -> bool:
        """the first chunk is being sent"""
        return run.deliveries.filter(status=S.SENDING).exists()

    wait_until(first_chunk_claimed, timeout=30)
    addon_set_enabled(enabled=False, actor=UserFactory())
    _finished(run)

    statuses = Counter(run.deliveries.values_list("status", "reason"))
    assert statuses[(S.SENT, "")] == 2
    assert statuses[(S.SKIPPED, "addon_disabled")] == 4
    assert_counters_match(run)
