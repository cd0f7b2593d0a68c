"""The claim and the follow-up read take a chunk's rows through the primary key, whatever the
planner's statistics say. They date from before the run queued its rows (autovacuum analyzes a
big table only after a tenth of it changed), so "status = 'queued'" looks like a handful of
rows and an index on status looks cheapest: reading a chunk then walked every queued row of the
run, for every chunk (quadratic in the run's size)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from campaigns.ledger.claim import deliveries_claim, next_due_in_range
from campaigns.models import Delivery
from tests.delivery_fixtures import run_create
from tests.query_plans import plan_of, statements_of

pytest_plugins = ["tests.delivery_fixtures"]


def test_a_chunk_is_read_by_its_id_range_when_statistics_predate_the_run(
    postgres_only, push_app, make_devices
):
    devices = make_devices(400)
    earlier = run_create(app=push_app, devices=devices)
    Delivery.objects.filter(run=earlier).update(status=Delivery.Status.SENT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")  # no queued row as far as the planner knows
    run = run_create(app=push_app, devices=devices)
    ids = sorted(Delivery.objects.filter(run=run).values_list("id", flat=True))
    chunk = {"run_id": run.pk, "first_id": ids[100], "last_id": ids[199]}

    statements = statements_of(lambda: deliveries_claim(**chunk, now=timezone.now()))
    statements += statements_of(lambda: next_due_in_range(**chunk))

    reads = [(sql, params) for sql, params in statements if "campaigns_delivery" in sql]
    assert len(reads) == 2
    for sql, params in reads:
        plan = plan_of(sql, params)
        assert "campaigns_delivery_pkey" in plan, plan
        assert "delivery_inflight_due_idx" not in plan, plan
        assert "delivery_run_status_idx" not in plan, plan
