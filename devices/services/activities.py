"""Activities the SDK reports: opens, custom actions, and push feedback (received/tapped).

Push feedback concerns campaigns' deliveries; campaigns records it through the hook it
registers at start-up (devices.hooks), inside this transaction.

Custom actions and sessions are most of what an app reports, and a trigger campaign may be
waiting on each of them, so on PostgreSQL they take one statement in autocommit, as a register
call does: the app's secret-hash check, the device lookup, the activity rows and their trigger
outbox rows (devices.trigger_outbox). Opens and push feedback also update the device or a
delivery, so they take the transaction below.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from devices import hooks
from devices.models import Device, DeviceActivity, MobileApp, TriggerOutbox
from devices.services.activity_log import activities_insert
from devices.services.locking import device_locked
from devices.services.rules import (
    MAX_ACTIVITIES_PER_CALL,
    DeviceNotFound,
    RegistryError,
    StaleCredentials,
)
from devices.trigger_listeners import listens_sql
from devices.trigger_outbox import pump_wake_after_commit

PUSH_FEEDBACK_KINDS = (DeviceActivity.Kind.PUSH_RECEIVED, DeviceActivity.Kind.PUSH_TAPPED)
# Kinds that touch nothing but their own rows: the one-statement path takes them.
ROWS_ONLY_KINDS = frozenset(
    {DeviceActivity.Kind.CUSTOM_ACTION, DeviceActivity.Kind.SESSION, DeviceActivity.Kind.INSTALLED}
)


def device_activities_record(
    *,
    app_id: int,
    installation_id: str,
    activities: Iterable[dict[str, Any]],
    field_prefix: str = "activities",
    secret_hash: str | None = None,
) -> list[int]:
    """Append activities reported by the SDK; all or nothing. Returns the new activity ids.

    `secret_hash` is the app's hash the caller authenticated with (possibly cached): the
    write happens only while the app still has it, else StaleCredentials. None: a trusted
    caller (the UI, seed data)."""
    items = list(activities)
    if not 1 <= len(items) <= MAX_ACTIVITIES_PER_CALL:
        raise RegistryError(field_prefix, f"Send 1-{MAX_ACTIVITIES_PER_CALL} activities.")
    now = timezone.now()
    for item in items:
        item.setdefault("occurred_at", now)
    if connection.vendor == "postgresql" and all(i["kind"] in ROWS_ONLY_KINDS for i in items):
        return _record_rows_only_postgres(
            app_id=app_id,
            installation_id=installation_id,
            items=items,
            secret_hash=secret_hash,
            now=now,
        )
    return _record(
        app_id=app_id,
        installation_id=installation_id,
        items=items,
        field_prefix=field_prefix,
        secret_hash=secret_hash,
    )


@transaction.atomic
def _record(
    *,
    app_id: int,
    installation_id: str,
    items: list[dict[str, Any]],
    field_prefix: str,
    secret_hash: str | None,
) -> list[int]:
    if (
        secret_hash is not None
        and not MobileApp.objects.filter(pk=app_id, sdk_secret_hash=secret_hash).exists()
    ):
        raise StaleCredentials(app_id)
    device = device_locked(app_id=app_id, installation_id=installation_id)
    feedback = [
        (index, item) for index, item in enumerate(items) if item["kind"] in PUSH_FEEDBACK_KINDS
    ]
    if feedback:
        hooks.push_feedback_record(device=device, items=feedback, field_prefix=field_prefix)
    opens = [item["occurred_at"] for item in items if item["kind"] == DeviceActivity.Kind.OPENED]
    if opens:
        device.last_opened_at = max(opens + [device.last_opened_at or opens[0]])
        device.first_opened_at = device.first_opened_at or min(opens)
        device.save(update_fields=["last_opened_at", "first_opened_at", "updated_at"])
    return activities_insert(
        [
            DeviceActivity(
                app_id=app_id,
                device=device,
                lead_id=device.lead_id,
                kind=item["kind"],
                action_name=item.get("action_name") or "",
                action_type=item.get("action_type") or "",
                details=item.get("details") or "",
                metric=item.get("metric"),
                length_seconds=item.get("length_seconds"),
                delivery_id=item.get("delivery_id"),
                occurred_at=item["occurred_at"],
            )
            for item in items
        ]
    )


@cache
def _rows_only_sql() -> str:
    """Built on first use: the listening condition comes from the hook campaigns registers
    at start-up (devices.hooks), as in the register statement."""
    app, device = MobileApp._meta.db_table, Device._meta.db_table
    activity, outbox = DeviceActivity._meta.db_table, TriggerOutbox._meta.db_table
    return f"""
WITH ok AS (
    SELECT EXISTS (SELECT 1 FROM {app} WHERE id = %s AND (%s OR sdk_secret_hash = %s)) AS ok
),
d AS (
    SELECT dv.id, dv.lead_id FROM {device} dv, ok
    WHERE ok.ok AND dv.app_id = %s AND dv.installation_id = %s
),
a AS (
    INSERT INTO {activity} (
        app_id, device_id, lead_id, kind, action_name, action_type, details,
        metric, length_seconds, delivery_id, occurred_at, created_at
    )
    SELECT %s, d.id, d.lead_id, i.kind, i.action_name, i.action_type, i.details,
           i.metric, i.length_seconds, i.delivery_id, i.occurred_at, %s
    FROM d CROSS JOIN unnest(
        %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::integer[],
        %s::bigint[], %s::timestamptz[]
    ) WITH ORDINALITY AS i(
        kind, action_name, action_type, details, metric, length_seconds, delivery_id,
        occurred_at, ord
    )
    ORDER BY i.ord
    RETURNING id, kind
),
heard AS (SELECT a.id, {listens_sql("a.kind")} AS listened FROM a),
o AS (INSERT INTO {outbox} (activity_id, created_at) SELECT id, %s FROM heard WHERE listened)
SELECT ok.ok, EXISTS (SELECT 1 FROM d), heard.id, heard.listened
FROM ok LEFT JOIN heard ON TRUE ORDER BY heard.id
"""  # noqa: S608 - identifiers from model metadata; every value is a parameter


def _record_rows_only_postgres(
    *,
    app_id: int,
    installation_id: str,
    items: list[dict[str, Any]],
    secret_hash: str | None,
    now: datetime,
) -> list[int]:
    columns: list[list[Any]] = [
        [item["kind"] for item in items],
        [item.get("action_name") or "" for item in items],
        [item.get("action_type") or "" for item in items],
        [item.get("details") or "" for item in items],
        [item.get("metric") for item in items],
        [item.get("length_seconds") for item in items],
        [item.get("delivery_id") for item in items],
        [item["occurred_at"] for item in items],
    ]
    params: list[Any] = [app_id, secret_hash is None, secret_hash or "", app_id, installation_id]
    params += [app_id, now, *columns, app_id, now]
    with connection.cursor() as cursor:
        cursor.execute(_rows_only_sql(), params)
        rows = cursor.fetchall()
    credentials_ok, device_found = rows[0][0], rows[0][1]
    if not credentials_ok:
        raise StaleCredentials(app_id)
    if not device_found:
        raise DeviceNotFound(installation_id)
    if any(listened for _, _, _, listened in rows):
        pump_wake_after_commit()
    return [activity_id for _, _, activity_id, _ in rows]
