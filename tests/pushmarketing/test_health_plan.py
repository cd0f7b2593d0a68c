"""System health's oldest queued delivery must not walk the table's history. Ordered by id,
PostgreSQL took the primary key from the first row and filtered: it expects queued rows spread
evenly, but they are the newest, so it read past every delivery already sent (525 ms behind
2.3M sent rows, and the retention window holds far more)."""

from __future__ import annotations

import pytest
from django.db import connection

from campaigns.models import Delivery
from pushmarketing.health import oldest_queued_delivery
from tests.campaigns.test_claim_plan import statements_of
from tests.delivery_fixtures import run_create

pytest_plugins = ["tests.delivery_fixtures"]


def test_oldest_queued_delivery_is_not_found_by_walking_the_sent_history(push_app, make_devices):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner; CI's PostgreSQL pass runs it (SQLite has no statistics)")
    devices = make_devices(200)
    for _ in range(15):  # the history: 3,000 rows sent
        sent = run_create(app=push_app, devices=devices)
        Delivery.objects.filter(run=sent).update(status=Delivery.Status.SENT)
    backlog = run_create(app=push_app, devices=devices[:20])  # the newest rows, still queued
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")

    [(sql, params)] = [
        (sql, params)
        for sql, params in statements_of(oldest_queued_delivery)
        if "campaigns_delivery" in sql
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "campaigns_delivery_pkey" not in plan, plan

    oldest = oldest_queued_delivery()
    assert oldest is not None
    first = Delivery.objects.filter(run=backlog).order_by("created_at", "id").first()
    assert first is not None and oldest["id"] == first.id
