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

from campaigns.models import Delivery
from pushmarketing.core.liveness import heartbeat_ensure


def deliveries_claim(*, run_id: int, first_id: int, last_id: int, now: datetime) -> list[int]:
    """Claim the due queued rows of `run_id` in [first_id, last_id]; return their ids.

    UPDATE … RETURNING is one statement on PostgreSQL and SQLite ≥ 3.35 alike; the
    `status = 'queued'` condition is what makes two concurrent claims disjoint."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s, claimed_by = %s "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        "WHERE run_id = %s AND id BETWEEN %s AND %s AND status = %s "
        "AND (not_before IS NULL OR not_before <= %s) RETURNING id"
    )
    params: list[Any] = [
        Delivery.Status.SENDING,
        _db_datetime(now),
        heartbeat_ensure(),  # the claimer's identity; its heartbeat vouches for the rows
        run_id,
        first_id,
        last_id,
        Delivery.Status.QUEUED,
        _db_datetime(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def next_due_in_range(*, run_id: int, first_id: int, last_id: int) -> datetime | None:
    """The earliest `not_before` still queued in the range (rows left for a follow-up).

    Rows queued without one were put back by the sweeper (which re-dispatches them itself)
    or by a pause (resuming dispatches them)."""
    row = (
        Delivery.objects.filter(
            run_id=run_id,
            id__gte=first_id,
            id__lte=last_id,
            status=Delivery.Status.QUEUED,
            not_before__isnull=False,
        )
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    return row


def _db_datetime(value: datetime) -> object:
    # Raw SQL bypasses the field's conversion: let the backend adapt it the way the ORM does,
    # so the value compares equal to what the ORM later filters on (claimed_at=...).
    return connection.ops.adapt_datetimefield_value(value)
