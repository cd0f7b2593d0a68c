"""System health's oldest queued delivery must not walk the table's history. Ordered by id,
PostgreSQL took the primary key from the first row and filtered: it expects queued rows spread
evenly, but they are the newest, so it read past every delivery already sent (525 ms behind
2.3M sent rows, and the retention window holds far more)."""

from __future__ import annotations

from django.db import connection

from campaigns.models import Delivery
from pushmarketing.health import oldest_queued_delivery
from tests.delivery_fixtures import run_create
from tests.query_plans import plan_of, statements_of

pytest_plugins = ["tests.delivery_fixtures"]


def test_oldest_queued_delivery_is_not_found_by_walking_the_sent_history(
    postgres_only, push_app, make_devices
):
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
    plan = plan_of(sql, params)
    assert "campaigns_delivery_pkey" not in plan, plan

    oldest = oldest_queued_delivery()
    assert oldest is not None
    first = Delivery.objects.filter(run=backlog).order_by("created_at", "id").first()
    assert first is not None and oldest["id"] == first.id
