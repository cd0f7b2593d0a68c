"""Claim: move a task's rows `queued → sending` with one conditional UPDATE.

Only the rows this UPDATE changed belong to the task, so a redelivered or duplicated task
(acks_late, broker redelivery, the sweeper re-dispatching a range) finds nothing left to
claim and sends nothing. Rows whose `not_before` is in the future stay queued. The rows carry
the claiming process's identity (pushmarketing.core.liveness): if its heartbeat stops, the
sweeper requeues them within seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Min, Value
from django.db.models.functions import Concat

from campaigns.models import Delivery
from pushmarketing.core.liveness import heartbeat_ensure

# A chunk's rows are read by their id range through the primary key: at most the chunk's
# rows. The run and status conditions are written so that no index can serve them
# (`run_id + 0`, `status || ''`): the planner's statistics date from before the run queued its
# rows (autovacuum analyzes a big table only after a tenth of it changed), so it took
# "status = 'queued'" for a handful of rows and walked the in-flight index instead — every
# row still queued in the run, for every chunk: a 200,000-row run read ~100,000 index entries
# per chunk (45 ms), quadratic in the run's size.
_IN_RANGE = "id BETWEEN %s AND %s AND run_id + 0 = %s AND status || '' = %s"


def deliveries_claim(*, run_id: int, first_id: int, last_id: int, now: datetime) -> list[int]:
    """Claim the due queued rows of `run_id` in [first_id, last_id]; return their ids.

    UPDATE … RETURNING is one statement on PostgreSQL and SQLite ≥ 3.35 alike; the
    `status = 'queued'` condition is what makes two concurrent claims disjoint."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s, claimed_by = %s "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"WHERE {_IN_RANGE} AND (not_before IS NULL OR not_before <= %s) RETURNING id"
    )
    params: list[Any] = [
        Delivery.Status.SENDING,
        _db_datetime(now),
        heartbeat_ensure(),  # the claimer's identity; its heartbeat vouches for the rows
        first_id,
        last_id,
        run_id,
        Delivery.Status.QUEUED,
        _db_datetime(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def next_due_in_range(*, run_id: int, first_id: int, last_id: int) -> datetime | None:
    """The earliest `not_before` still queued in the range (rows left for a follow-up).

    Rows queued without one were put back by the sweeper (which re-dispatches them itself)
    or by a pause (resuming dispatches them). Read through the primary key like the claim
    (the same expressions keep the other indexes out)."""
    return (
        Delivery.objects.filter(id__gte=first_id, id__lte=last_id, not_before__isnull=False)
        .alias(run_plain=F("run_id") + 0, status_plain=Concat("status", Value("")))
        .filter(run_plain=run_id, status_plain=Delivery.Status.QUEUED)
        .aggregate(due=Min("not_before"))["due"]
    )


def _db_datetime(value: datetime) -> object:
    # Raw SQL bypasses the field's conversion: let the backend adapt it the way the ORM does,
    # so the value compares equal to what the ORM later filters on (claimed_at=...).
    return connection.ops.adapt_datetimefield_value(value)
