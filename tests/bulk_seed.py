"""Set-based seeding of many devices and deliveries for volume tests and benchmarks: one
INSERT … SELECT over a number series per table, on PostgreSQL or SQLite."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone


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
    """One delivery per device of the app, all in `status`, sent now."""
    now = timezone.now()
    sql = """
        INSERT INTO campaigns_delivery (
            run_id, device_id, lead_id, platform, status, reason, attempts, provider_id,
            created_at, sent_at)
        SELECT %s, d.id, d.lead_id, d.platform, %s, '', 1, '', %s, %s
        FROM devices_device d WHERE d.app_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, status, now, now if status == "sent" else None, app_id])
        return cursor.rowcount
