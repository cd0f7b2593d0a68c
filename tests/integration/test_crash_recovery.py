"""A worker SIGKILLed mid-run, at default settings: two real workers, beat, the broker, the
database and the push simulator with network latency. Nothing is lost, the dead worker's rows
move again within 30 s (its heartbeat stops; beat's orphan sweep requeues them), and what is
sent twice is bounded by what that worker had in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, Lead
from notifications.simulator import client as sim_client
from tests.delivery_fixtures import apns_token, assert_counters_match, run_create, simulator_app
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import CeleryWorker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
S = Delivery.Status
DEVICES = 1500


def phones(app, count: int) -> list[Device]:  # noqa: ANN001
    leads = Lead.objects.bulk_create(Lead(email=f"crash{i}@example.com") for i in range(count))
    now = timezone.now()
    return Device.objects.bulk_create(
        Device(
            app=app, lead=lead, platform="ios" if i % 2 else "android",
            push_token=apns_token("a0a0", i) if i % 2 else f"ok-crash-{i:05d}",
            installation_id=f"crash-{i}", first_opened_at=now, last_opened_at=now,
        )
        for i, lead in enumerate(leads)
    )  # fmt: skip


def start_beat(env: dict[str, str], directory: Path) -> subprocess.Popen[bytes]:
    log = open(directory / "beat.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pushmarketing", "beat", "-l", "INFO",
         "-s", str(directory / "beat-schedule")],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def test_a_worker_killed_mid_run_loses_nothing_and_the_run_moves_again_within_30_s(
    addon_enabled, push_simulator, worker_env, tmp_path
):
    workers = [CeleryWorker(env=worker_env, log_dir=tmp_path) for _ in range(2)]
    for worker in workers:
        worker.start()
    beat = start_beat(worker_env, tmp_path)
    try:
        app = simulator_app(push_simulator)
        devices = phones(app, DEVICES)
        # Latency as from a data centre to Apple and Google: many requests in flight.
        sim_client.configure(latency_ms=100)
        with transaction.atomic():
            run = run_create(app=app, devices=devices)
            deliveries_dispatch(run=run)

        def under_way() -> bool:
            """a third of the run is sent"""
            return run.deliveries.filter(status=S.SENT).count() >= DEVICES // 3

        wait_until(under_way, timeout=60, interval=0.02)
        holding = Counter(
            run.deliveries.filter(status=S.SENDING).values_list("claimed_by", flat=True)
        )
        # The worker holding the most: the other may be on its chunk's last answers, which
        # can all be recorded between this read and the kill (then nothing was in flight).
        claimer, _ = holding.most_common(1)[0]
        victim_pid = int(claimer.split(":")[1])
        victim = next(w for w in workers if w.process is not None and w.process.pid == victim_pid)
        victim.kill()
        killed_at = time.monotonic()
        in_flight = run.deliveries.filter(
            status=S.SENDING, claimed_by__contains=f":{victim_pid}:"
        ).count()
        assert in_flight > 0

        def moving_again() -> bool:
            """the dead worker's rows were handed to the living"""
            return not run.deliveries.filter(
                status=S.SENDING, claimed_by__contains=f":{victim_pid}:"
            ).exists()

        wait_until(moving_again, timeout=45, interval=0.2)
        recovered_in = time.monotonic() - killed_at

        def completed() -> bool:
            """the run completes"""
            run.refresh_from_db()
            return run.status == CampaignRun.Status.COMPLETED

        wait_until(completed, timeout=120)
        time.sleep(1)  # a late duplicate would land now
        received = Counter(r["token"] for r in sim_client.receipts(limit=50_000))
        lost = sum(1 for d in devices if received[d.push_token] == 0)
        resent = sum(max(0, received[d.push_token] - 1) for d in devices)
        print(
            f"SIGKILL with {in_flight} rows in flight: {lost} lost, {resent} sent twice, "
            f"the dead worker's rows requeued {recovered_in:.1f} s after the kill"
        )
        assert lost == 0
        assert resent <= in_flight
        assert recovered_in < 30
        assert set(run.deliveries.values_list("status", flat=True)) == {S.SENT}
        assert_counters_match(run)
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(15)
        for worker in workers:
            worker.stop()


def test_sigterm_finishes_the_chunk_in_hand_and_leaves_nothing_claimed(
    addon_enabled, push_simulator, celery_worker
):
    app = simulator_app(push_simulator)
    devices = phones(app, 40)
    sim_client.configure(latency_ms=1500)
    with transaction.atomic():
        run = run_create(app=app, devices=devices)
        deliveries_dispatch(run=run)

    def claimed() -> int:
        """the worker claimed the chunk"""
        return run.deliveries.filter(status=S.SENDING).count()

    wait_until(claimed, timeout=30, interval=0.02)
    celery_worker.stop()  # SIGTERM: a deploy
    held = run.deliveries.filter(status=S.SENDING).count()
    sent = run.deliveries.filter(status=S.SENT).count()
    print(f"after SIGTERM: {sent} sent, {held} still claimed")
    assert held == 0  # recorded before exiting, or handed back: never stranded
    sim_client.configure(latency_ms=0)
    celery_worker.start()

    def completed() -> bool:
        """the run completes"""
        run.refresh_from_db()
        return run.status == CampaignRun.Status.COMPLETED

    wait_until(completed, timeout=60)
    received = Counter(r["token"] for r in sim_client.receipts(limit=1000))
    assert all(received[d.push_token] == 1 for d in devices)  # nothing lost, nothing twice
    assert_counters_match(run)
