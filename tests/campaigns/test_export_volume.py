from __future__ import annotations

import tracemalloc

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.export import run_deliveries_csv
from campaigns.ledger.counters import runs_counter_drift
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun
from notifications.content import PushContent
from tests.bulk_seed import seed_deliveries, seed_devices
from tests.factories import MobileAppFactory, PushNotificationFactory


@pytest.mark.django_db
def test_large_export_streams_in_bounded_memory():
    # A few hundred thousand rows on PostgreSQL (CI); fewer on SQLite to keep the embedded run quick.
    rows = 200_000 if connection.vendor == "postgresql" else 50_000
    app = MobileAppFactory()
    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.SENDING,
        notification_id=PushNotificationFactory(app=app).pk,
        app_id=app.pk,
        content=PushContent(message="hi").to_dict(),
        now=timezone.now(),
    )
    seed_devices(app_id=app.pk, count=rows)
    assert seed_deliveries(run_id=run.pk, app_id=app.pk) == rows
    assert runs_counter_drift([run.pk]) == []

    stream = run_deliveries_csv(run=run)
    tracemalloc.start()
    header = next(stream)  # the response starts before any delivery is read
    assert header.startswith("delivery_id,")
    count = 0
    first = last = ""
    for line in stream:
        count += 1
        first = first or line
        last = line
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert count == rows
    assert first.split(",")[3] in {"ios", "android"} and ",sent," in last
    # One page of 5,000 rows is held at a time (~a few MB), whatever the run size.
    assert peak < 25 * 1024 * 1024, f"export peaked at {peak / 1e6:.1f} MB"
