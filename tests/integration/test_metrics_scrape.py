"""Metrics across processes: a real Celery worker sends a run to the push simulator and writes
its counters into the multiprocess folder; this process's /metrics merges them. The counts
scraped equal the delivery rows."""

from __future__ import annotations

import re
import socket
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import Sum
from prometheus_client.parser import text_string_to_metric_families

from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.models import CampaignRun, Delivery
from tests.delivery_fixtures import apns_token, run_create, simulator_app
from tests.factories import DeviceFactory
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import CeleryWorker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TOKEN = "integration-metrics-token"  # noqa: S105 - a test value
PROVIDER = {"android": "fcm", "ios": "apns"}


@pytest.fixture
def metrics_dir(worker_env: dict, tmp_path: Path, settings) -> Path:  # noqa: ANN001
    """The folder the worker writes its counters to and the endpoint reads them from."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    worker_env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    # One retry, then give up: a `retry` and a `failed` in seconds.
    worker_env["PUSH_MAX_ATTEMPTS"] = "2"
    settings.PROMETHEUS_MULTIPROC_DIR = str(folder)
    settings.METRICS_TOKEN = TOKEN
    return folder


@pytest.fixture
def worker(metrics_dir: Path, request: pytest.FixtureRequest) -> CeleryWorker:
    # After metrics_dir: the worker starts with the folder in its environment.
    return request.getfixturevalue("celery_worker")


def _samples(client) -> dict[tuple[str, tuple], float]:  # noqa: ANN001
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_counts_scraped_after_a_run_equal_the_delivery_rows(
    addon_enabled, push_simulator, metrics_dir, worker, client
):
    app = simulator_app(push_simulator)
    devices = [
        *(DeviceFactory(app=app, platform="android", push_token=f"ok-m-{i}") for i in range(3)),
        DeviceFactory(app=app, platform="android", push_token="dead-m-1"),
        DeviceFactory(app=app, platform="android", push_token="x-unavailable-m"),
        *(DeviceFactory(app=app, platform="ios", push_token=apns_token("a0a0", i)) for i in range(2)),
        DeviceFactory(app=app, platform="ios", push_token=apns_token("dead", 7), token_updated_at=None),
    ]  # fmt: skip
    with transaction.atomic():
        run = run_create(app=app, devices=devices)
        deliveries_dispatch(run=run)

    def completed() -> bool:
        """the run completes"""
        run.refresh_from_db()
        return run.status == CampaignRun.Status.COMPLETED

    wait_until(completed, timeout=60)
    rows = Counter(run.deliveries.values_list("platform", "status"))
    assert rows == {
        ("android", "sent"): 3,
        ("android", "token_invalid"): 1,
        ("android", "failed"): 1,
        ("ios", "sent"): 2,
        ("ios", "token_invalid"): 1,
    }
    retries = run.deliveries.aggregate(n=Sum("attempts"))["n"] - len(devices)
    assert retries == 1

    def scraped() -> dict:
        """the worker's last counts reach the folder (written after the record commits)"""
        samples = _samples(client)
        total = sum(v for (name, _), v in samples.items() if name == "pushmarketing_messages_total")
        return samples if total == len(devices) + retries else {}

    samples = wait_until(scraped, timeout=10)
    messages = {
        (dict(labels)["provider"], dict(labels)["outcome"]): value
        for (name, labels), value in samples.items()
        if name == "pushmarketing_messages_total" and value
    }
    expected = {(PROVIDER[platform], status): n for (platform, status), n in rows.items()}
    expected[("fcm", "retry")] = retries
    assert messages == expected
    # One latency observation per provider request: 5 + 1 retry to FCM, 3 to APNs.
    latency = "pushmarketing_provider_request_duration_seconds_count"
    assert samples[(latency, (("provider", "fcm"),))] == 6
    assert samples[(latency, (("provider", "apns"),))] == 3
    assert (
        samples[("pushmarketing_runs_in_progress", (("kind", "batch"), ("status", "sending")))] == 0
    )
    assert samples[("pushmarketing_oldest_queued_delivery_seconds", (("queue", "bulk"),))] == 0
    # The worker's files are named by host and pid (shared folders across containers).
    pattern = rf"(counter|histogram)_{re.escape(socket.gethostname())}-\d+\.db"
    files = sorted(p.name for p in metrics_dir.glob("*.db"))
    assert files and all(re.fullmatch(pattern, name) for name in files), files
    assert not run.deliveries.exclude(status__in=Delivery.TERMINAL).exists()
