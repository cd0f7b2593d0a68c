"""Audience -> delivery rows, set-based.

One `INSERT INTO campaigns_delivery (...) SELECT ... FROM devices_device WHERE <audience>
ON CONFLICT DO NOTHING` per slice of CHUNK device ids (keyset by primary key), so 1M devices
is ~20 statements and Python never sees a device. The same SQL runs on PostgreSQL and SQLite
(>= 3.24 for ON CONFLICT; our SELECT always has a WHERE, which SQLite needs to parse it).

Then, still set-based: over-cap leads' rows become `skipped: frequency_cap` (one UPDATE), send
times are planned per time zone (one UPDATE per distinct zone of the run, computed with
zoneinfo so DST is exact on both databases), and the run's counters are set from one
GROUP BY.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet, Value
from django.db.models import fields as model_fields

from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.qualification import (
    already_qualified_q,
    capped_leads,
    planned_send_at,
    valid_zones,
)
from campaigns.selectors import sendable_devices

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
)


@dataclass(frozen=True)
class LocalSchedule:
    day: dt.date
    at: dt.time


def _insert_select(devices: QuerySet, *, run_id: int, now: dt.datetime) -> int:
    """INSERT ... SELECT for one slice of devices; returns rows inserted."""
    select = devices.order_by().values_list(
        Value(run_id, output_field=model_fields.BigIntegerField()),
        "id",
        "lead_id",
        "platform",
        Value(Delivery.Status.QUEUED.value, output_field=model_fields.CharField()),
        Value("", output_field=model_fields.CharField()),
        Value(0, output_field=model_fields.IntegerField()),
        Value("", output_field=model_fields.CharField()),
        Value(now, output_field=model_fields.DateTimeField()),
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


def deliveries_insert(*, run: CampaignRun, audience: QuerySet, now: dt.datetime) -> int:
    """Insert the audience as queued deliveries of `run` in keyset slices of CHUNK ids."""
    bounds = audience.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return 0
    inserted = 0
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        inserted += _insert_select(
            audience.filter(id__gte=lo, id__lt=lo + CHUNK), run_id=run.pk, now=now
        )
        lo += CHUNK
    return inserted


def deliveries_skip_capped(*, run: CampaignRun, cap: dict[str, Any], now: dt.datetime) -> int:
    capped = capped_leads(cap, now=now)
    if capped is None:
        return 0
    return Delivery.objects.filter(
        run=run, status=Delivery.Status.QUEUED, lead_id__in=capped
    ).update(status=Delivery.Status.SKIPPED, reason="frequency_cap")


def deliveries_plan_times(
    *,
    run: CampaignRun,
    quiet: dict[str, str],
    local: LocalSchedule | None,
    now: dt.datetime,
) -> int:
    """Set `not_before` per time zone; returns the number of UPDATE statements issued."""
    if not quiet and local is None:
        return 0
    queued = Delivery.objects.filter(run=run, status=Delivery.Status.QUEUED)
    zones = set(queued.values_list("device__time_zone", flat=True).distinct())
    known = valid_zones()
    statements = 0
    groups: list[tuple[str | None, Q]] = [(z, Q(device__time_zone=z)) for z in zones if z in known]
    if any(z not in known for z in zones):
        # No or unknown zone: planned in UTC (the app default), stated in the UI.
        groups.append((None, ~Q(device__time_zone__in=[z for z in zones if z in known])))
    for zone_name, condition in groups:
        send_at = planned_send_at(
            zone_name=zone_name,
            now=now,
            quiet=quiet,
            local_day=local.day if local else None,
            local_at=local.at if local else None,
        )
        if send_at is not None:
            queued.filter(condition).update(not_before=send_at)
            statements += 1
    return statements


def run_counters_set(run: CampaignRun) -> None:
    """total / queued_* / skipped_* from one GROUP BY over the run's rows."""
    values: dict[str, int] = {
        f"{s}_{p}": 0 for s in ("queued", "skipped") for p in ("ios", "android")
    }
    total = 0
    for row in (
        Delivery.objects.filter(run=run)
        .values("platform", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        total += row["n"]
        key = f"{row['status']}_{row['platform']}"
        if key in values:
            values[key] += row["n"]
    run.total = total
    for key, value in values.items():
        setattr(run, key, value)
    run.save(update_fields=["total", *values])


def run_resolve(
    *, run: CampaignRun, campaign: Campaign, now: dt.datetime, local: LocalSchedule | None
) -> int:
    """Create every delivery row of a batch/API run; returns how many are queued to send."""
    from campaigns.selectors import notification_platforms

    audience = sendable_devices(
        app_id=campaign.app_id,
        rows=campaign.audience,
        platforms=notification_platforms(campaign.notification),
    )
    disqualified = already_qualified_q(campaign, now=now, exclude_run_id=run.pk)
    if disqualified is not None:
        audience = audience.exclude(disqualified)
    deliveries_insert(run=run, audience=audience, now=now)
    deliveries_skip_capped(run=run, cap=campaign.frequency_cap, now=now)
    deliveries_plan_times(run=run, quiet=campaign.quiet_hours, local=local, now=now)
    run_counters_set(run)
    return run.queued_ios + run.queued_android
