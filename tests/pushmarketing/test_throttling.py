"""Limits that hold under concurrency, on the backend of the run: Redis INCRBY on the
PostgreSQL + Redis run, the database's counter row on the embedded default (SQLite)."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from pushmarketing.core import throttling
from pushmarketing.core.celery import app as celery_app
from tests.api_fixtures import IOS_TOKEN, SdkClient, bearer_client, clear_throttle_counts
from tests.factories import MobileAppFactory, UserFactory

CLIENTS = 16
CONFIGURED_CACHES = django_settings.CACHES
# Mid-window, so a run of the test never straddles two one-minute windows (that would
# rightly admit a second window's worth).
MID_WINDOW = dt.datetime(2026, 3, 2, 12, 0, 20, tzinfo=dt.UTC)


def _each_in_a_thread(calls: int, call: Any) -> Counter[int]:
    """Run `call` `calls` times from CLIENTS threads at once; count the answers' statuses."""

    def one(_: int) -> int:
        try:
            return int(call())
        finally:
            connection.close()  # each thread had its own connection

    # Switch threads every microsecond (5 ms by default), so a read-then-write counter
    # really is interrupted between its read and its write.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            return Counter(pool.map(one, range(calls)))
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def frozen_window(transactional_db: None, settings):  # noqa: ANN001, ANN201
    # The configured cache, not the private LocMemCache the suite gives each test: Redis on
    # the PostgreSQL run, the file cache (so the database's counter) on the embedded default.
    settings.CACHES = CONFIGURED_CACHES
    clear_throttle_counts()
    with time_machine.travel(MID_WINDOW, tick=True):
        yield
    clear_throttle_counts()


def test_sixteen_threads_never_claim_past_the_limit(frozen_window):
    name = "pm:throttle:test:shared:60"
    admitted = _each_in_a_thread(200, lambda: throttling.admit(name, 7, limit=30, ttl=61))
    assert admitted == {True: 30, False: 170}
    assert throttling.add_hits(name, 7, 0, ttl=61) == 200  # not one increment lost


def test_sixteen_sdk_clients_never_pass_the_app_limit(frozen_window, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"sdk_app": "40/min"},
    }
    sdk = SdkClient(MobileAppFactory().sdk_key)
    statuses = _each_in_a_thread(
        120, lambda: sdk.register("inst-1", push_token=IOS_TOKEN).status_code
    )
    assert statuses[429] == 80 and statuses[200] + statuses[201] == 40, statuses


def test_sixteen_management_clients_never_pass_the_token_limit(
    frozen_window, addon_enabled, settings
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"management": "30/min"},
    }
    # Transactional tests flush the role groups the migration made: a superuser is an admin.
    client, _ = bearer_client(UserFactory(is_superuser=True))
    statuses = _each_in_a_thread(100, lambda: client.get("/api/v1/apps").status_code)
    assert statuses == {200: 30, 429: 70}
    # Another token has its own budget.
    other, _ = bearer_client(UserFactory(is_superuser=True))
    assert other.get("/api/v1/apps").status_code == 200


@pytest.mark.django_db
def test_management_429_retry_after_equals_the_body(settings, addon_on, admin_user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"management": "2/min"},
    }
    clear_throttle_counts()
    client: Client = bearer_client(admin_user)[0]
    statuses = [client.get("/api/v1/apps").status_code for _ in range(2)]
    response = client.get("/api/v1/apps")
    assert (statuses, response.status_code) == ([200, 200], 429)
    retry_after = response.json()["error"]["retry_after_seconds"]
    assert response["Retry-After"] == str(retry_after) and 1 <= retry_after <= 60


def test_beat_purges_only_the_counters_whose_window_has_passed(db):
    from pushmarketing.core.models import RateCounter
    from pushmarketing.core.tasks import rate_counters_purge

    now = int(dt.datetime.now(dt.UTC).timestamp())
    RateCounter.objects.create(name="sdk:gone", window_id=1, hits=3, expires_at=now - 1)
    RateCounter.objects.create(name="sdk:live", window_id=2, hits=5, expires_at=now + 60)

    assert rate_counters_purge() == 1
    assert list(RateCounter.objects.values_list("name", flat=True)) == ["sdk:live"]
    assert "core.rate_counters_purge" in {
        entry["task"] for entry in celery_app.conf.beat_schedule.values()
    }
