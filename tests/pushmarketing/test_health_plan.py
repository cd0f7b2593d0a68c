"""System health's oldest queued delivery must not walk the table's history. Ordered by id,
PostgreSQL took the primary key from the first row and filtered: it expects queued rows spread
evenly, but they are the newest, so it read past every delivery already sent (525 ms behind
2.3M sent rows, and the retention window holds far more)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery
from campaigns.selectors import (
    deliveries_due_since_by_run,
    deliveries_due_since_by_run_kind,
    delivery_longest_due,
)
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


def test_due_deliveries_are_found_with_one_probe_per_run_not_by_reading_the_backlog(
    postgres_only, push_app, make_devices
):
    # The metrics read this on every scrape: aggregating over the queued rows read all of them
    # (~155 ms per 300,000). Each open run's longest-waiting row comes first in the in-flight
    # index, so the plan is a limited index probe per run.
    devices = make_devices(300)
    now = timezone.now()
    backlog = run_create(app=push_app, devices=devices)
    rows = list(backlog.deliveries.order_by("id"))
    Delivery.objects.filter(pk=rows[7].pk).update(created_at=now - timedelta(minutes=9))
    Delivery.objects.filter(pk=rows[3].pk).update(not_before=now + timedelta(hours=1))  # held
    retried = run_create(app=push_app, devices=devices[:5], kind=CampaignRun.Kind.TRIGGER)
    first = retried.deliveries.order_by("id").first()
    Delivery.objects.filter(pk=first.pk).update(not_before=now - timedelta(minutes=4))
    paused = run_create(app=push_app, devices=devices[:5], status=CampaignRun.Status.PAUSED)
    paused.deliveries.update(created_at=now - timedelta(hours=2))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")

    [(sql, params)] = statements_of(lambda: deliveries_due_since_by_run(now=now))
    plan = plan_of(sql, params)
    assert "delivery_inflight_due_idx" in plan and "Limit" in plan, plan
    # No sort: a batch run's rows tie on their creation time, and a tie-break sorted them all.
    assert "Sort" not in plan and "Seq Scan on campaigns_delivery" not in plan, plan

    assert deliveries_due_since_by_run_kind(now=now) == {
        "batch": now - timedelta(minutes=9),
        "trigger": now - timedelta(minutes=4),
    }
    longest = delivery_longest_due(now=now, kinds=["batch", "trigger"])
    assert longest is not None and (longest["id"], longest["run__kind"]) == (rows[7].pk, "batch")
