"""Set-based seeding of many devices and deliveries for volume tests and benchmarks: one
INSERT … SELECT over a number series per table, on PostgreSQL or SQLite."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from campaigns.ledger.counters import run_counters_add, run_counters_from_rows
from campaigns.ledger.inserts import deliveries_insert
from campaigns.models import CampaignRun, Delivery
from devices.models import Device


def _series(n: int) -> str:
    if connection.vendor == "postgresql":
        return f"SELECT generate_series(1, {int(n)}) AS i"
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(n)}) "
        "SELECT i FROM s"
    )


def _concat(*parts: str) -> str:
    return " || ".join(parts)


def seed_devices(*, app_id: int, count: int, prefix: str = "bulk") -> None:
    """`count` eligible-looking devices (half iOS, half Android), no lead."""
    now = timezone.now()
    sql = f"""
        INSERT INTO devices_device (
            app_id, platform, installation_id, push_token, first_opened_at, last_opened_at,
            push_enabled, is_test_device, test_device_name, locale, time_zone, app_version,
            os_version, device_model, status, status_reason, created_at, updated_at)
        SELECT %s, CASE WHEN i %% 2 = 0 THEN 'ios' ELSE 'android' END,
               {_concat("%s", "CAST(i AS TEXT)")}, {_concat("'tok-'", "%s", "CAST(i AS TEXT)")},
               %s, %s, TRUE, FALSE, '', 'en_US', 'UTC', '1.0', '17', 'Phone', 'active', '', %s, %s
        FROM ({_series(count)}) AS series
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [app_id, f"{prefix}-", f"{prefix}-", now, now, now, now])


def seed_deliveries(*, run_id: int, app_id: int, status: str = "sent") -> int:
    """One delivery per device of the app, all in `status` (sent now), through the ledger:
    rows inserted set-based by deliveries_insert and counted, then given their outcome in one
    UPDATE per platform whose row counts go to the run's counters."""
    now = timezone.now()
    run = CampaignRun.objects.get(pk=run_id)
    inserted = deliveries_insert(run=run, audience=Device.objects.filter(app_id=app_id), now=now)
    run_counters_from_rows(run)
    if status != Delivery.Status.QUEUED:
        queued = Delivery.objects.filter(run_id=run_id, status=Delivery.Status.QUEUED)
        platforms = queued.order_by().values_list("platform", flat=True).distinct()
        counts = {
            (status, platform): queued.filter(platform=platform).update(
                status=status, attempts=1, sent_at=now if status == "sent" else None
            )
            for platform in set(platforms)
        }
        run_counters_add(run_id=run_id, counts=counts)
    return inserted
