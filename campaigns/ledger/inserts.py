"""Delivery rows, set-based: from an audience query, from trigger fires, for a sample.

An audience becomes rows with one `INSERT INTO campaigns_delivery (...) SELECT ... FROM
devices_device WHERE <audience> ON CONFLICT DO NOTHING` per slice of CHUNK device ids (keyset
by primary key), so 1M devices is ~20 statements and Python never sees a device. The same SQL
runs on PostgreSQL and SQLite (>= 3.24 for ON CONFLICT; our SELECT always has a WHERE, which
SQLite needs to parse it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max, Min, QuerySet, Value
from django.db.models import fields as model_fields
from django.db.models.expressions import Combinable

from campaigns.ledger.counters import run_counters_add
from campaigns.models import CampaignRun, Delivery

CHUNK = 50_000
INSERT_COLUMNS = (
    "run_id",
    "device_id",
    "lead_id",
    "platform",
    "status",
    "reason",
    "attempts",
    "provider_id",
    "created_at",
    "variant",
)


@dataclass(frozen=True)
class NewDelivery:
    """One row to write outside an audience query (a trigger fire, a sample)."""

    device_id: int
    lead_id: int | None
    platform: str
    status: str = Delivery.Status.QUEUED
    reason: str = ""
    not_before: dt.datetime | None = None


@dataclass(frozen=True)
class RowShape:
    """The per-row columns an audience INSERT computes in SQL: queued with no variant, or an
    A/B test's variant with its control rows held out (campaigns.abtest.rows)."""

    variant: Combinable = Value("", output_field=model_fields.CharField())
    status: Combinable = Value(Delivery.Status.QUEUED.value, output_field=model_fields.CharField())
    reason: Combinable = Value("", output_field=model_fields.CharField())


def _insert_select(
    devices: QuerySet, *, run_id: int, now: dt.datetime, shape: RowShape | None = None
) -> int:
    """INSERT ... SELECT for one slice of devices; returns rows inserted."""
    shape = shape or RowShape()
    select = devices.order_by().values_list(
        Value(run_id, output_field=model_fields.BigIntegerField()),
        "id",
        "lead_id",
        "platform",
        shape.status,
        shape.reason,
        Value(0, output_field=model_fields.IntegerField()),
        Value("", output_field=model_fields.CharField()),
        Value(now, output_field=model_fields.DateTimeField()),
        shape.variant,
    )
    sql, params = select.query.sql_with_params()
    table = Delivery._meta.db_table
    statement = (
        f"INSERT INTO {table} ({', '.join(INSERT_COLUMNS)}) {sql} "
        "ON CONFLICT (run_id, device_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(cursor.rowcount, 0)


def deliveries_insert(
    *, run: CampaignRun, audience: QuerySet, now: dt.datetime, shape: RowShape | None = None
) -> int:
    """Insert the audience as queued deliveries of `run` in keyset slices of CHUNK ids
    (`shape`: an A/B test's per-row variant and held-out status, computed in the SELECT)."""
    bounds = audience.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return 0
    inserted = 0
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        inserted += _insert_select(
            audience.filter(id__gte=lo, id__lt=lo + CHUNK), run_id=run.pk, now=now, shape=shape
        )
        lo += CHUNK
    return inserted


def deliveries_insert_returning(
    *, run_id: int, rows: Sequence[NewDelivery], now: dt.datetime
) -> dict[int, int]:
    """Insert rows into a run and count them; return {device id: delivery id} of the rows
    written (a device that already has a row in the run is skipped: one delivery per device
    per run)."""
    if not rows:
        return {}
    adapt = connection.ops.adapt_datetimefield_value
    columns = (
        "run_id, device_id, lead_id, platform, status, reason, attempts, provider_id, "
        "created_at, not_before"
    )
    values, params = [], []
    for row in rows:
        values.append("(%s, %s, %s, %s, %s, %s, 0, '', %s, %s)")
        params += [
            run_id,
            row.device_id,
            row.lead_id,
            row.platform,
            row.status,
            row.reason,
            adapt(now),
            adapt(row.not_before) if row.not_before else None,
        ]
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} ({columns}) VALUES {', '.join(values)} "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        "ON CONFLICT (run_id, device_id) DO NOTHING RETURNING device_id, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = dict(cursor.fetchall())
    counts = Counter((row.status, row.platform) for row in rows if row.device_id in written)
    run_counters_add(run_id=run_id, counts=counts, total=len(written))
    return written
