"""Registration: the app-open upsert the SDK calls on every launch, and token refresh.

The register call is the hot path (every app open of every phone), so it is one upsert
statement plus one activity insert (on PostgreSQL one statement in all). Activities a trigger
listens for go to the trigger outbox in the same write (devices.trigger_outbox).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from devices.models import Device, DeviceActivity, MobileApp, TriggerOutbox
from devices.services.activity_log import activities_insert
from devices.services.locking import device_locked
from devices.services.rules import RegistryError, StaleCredentials, push_token_error
from devices.trigger_listeners import listens_sql
from devices.trigger_outbox import pump_wake_after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    device_id: int
    installation_id: str
    first_open: bool
    token_registered: bool
    activity_ids: list[int] = field(default_factory=list)


_DEVICE = Device._meta.db_table
_APP = MobileApp._meta.db_table

# One statement for the whole register call. It writes only while the app still has the
# secret hash the caller authenticated with, so SDK auth may trust a briefly cached hash: a
# rotated secret makes this statement write nothing and the call is refused (401). `first_opened_at` keeps its first value, so it
# equals this call's `last_opened_at` exactly when this is the first open; likewise
# `token_updated_at` equals `updated_at` exactly when this call stored a new token (or
# dropped the old platform's one: no `push_registered` then, the caller sent no token).
# Empty strings mean "not sent: keep what is stored" — except the token on a platform
# change: an APNs token can never reach an Android phone (nor the reverse), so the device
# keeps no token and is not eligible until one of its new platform arrives. SET expressions
# read the row as it was (PostgreSQL and SQLite alike), so `d.platform` is the old platform.
# A non-empty token re-activates a token_invalid/unregistered device (the phone proved it is
# alive). The token's partial unique index may still conflict: the caller then moves it.
_UPSERT_SQL = f"""
INSERT INTO {_DEVICE} AS d (
    app_id, platform, installation_id, push_token, token_updated_at, lead_id,
    first_opened_at, last_opened_at, push_enabled, is_test_device, test_device_name,
    locale, time_zone, app_version, os_version, device_model,
    status, status_reason, status_changed_at, created_at, updated_at
)
SELECT %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s, '', %s, %s, %s, %s, %s, 'active', '', NULL, %s, %s
WHERE EXISTS (SELECT 1 FROM {_APP} WHERE id = %s AND (%s OR sdk_secret_hash = %s))
ON CONFLICT (app_id, installation_id) DO UPDATE SET
    platform = EXCLUDED.platform,
    push_token = CASE WHEN EXCLUDED.push_token <> '' THEN EXCLUDED.push_token
                      WHEN EXCLUDED.platform <> d.platform THEN ''
                      ELSE d.push_token END,
    token_updated_at = CASE WHEN EXCLUDED.push_token <> '' AND EXCLUDED.push_token <> d.push_token
                            THEN EXCLUDED.updated_at
                            WHEN EXCLUDED.push_token = '' AND EXCLUDED.platform <> d.platform
                                 AND d.push_token <> ''
                            THEN EXCLUDED.updated_at
                            ELSE d.token_updated_at END,
    status = CASE WHEN EXCLUDED.push_token <> '' THEN 'active' ELSE d.status END,
    status_reason = CASE WHEN EXCLUDED.push_token <> '' AND d.status <> 'active' THEN ''
                         ELSE d.status_reason END,
    status_changed_at = CASE WHEN EXCLUDED.push_token <> '' AND d.status <> 'active'
                             THEN EXCLUDED.updated_at ELSE d.status_changed_at END,
    first_opened_at = COALESCE(d.first_opened_at, EXCLUDED.first_opened_at),
    last_opened_at = EXCLUDED.last_opened_at,
    push_enabled = EXCLUDED.push_enabled,
    locale = COALESCE(NULLIF(EXCLUDED.locale, ''), d.locale),
    time_zone = COALESCE(NULLIF(EXCLUDED.time_zone, ''), d.time_zone),
    app_version = COALESCE(NULLIF(EXCLUDED.app_version, ''), d.app_version),
    os_version = COALESCE(NULLIF(EXCLUDED.os_version, ''), d.os_version),
    device_model = COALESCE(NULLIF(EXCLUDED.device_model, ''), d.device_model),
    updated_at = EXCLUDED.updated_at
RETURNING id, lead_id,
    CASE WHEN first_opened_at = last_opened_at THEN 1 ELSE 0 END AS first_open,
    CASE WHEN token_updated_at = updated_at THEN 1 ELSE 0 END AS token_new
"""


def _token_move(*, app_id: int, platform: str, token: str, installation_id: str) -> int:
    """The phone reinstalled: the token now belongs to this installation, so any other active
    device of the app that still holds it loses it (it could never receive it again)."""
    moved = (
        Device.objects.filter(
            app_id=app_id, platform=platform, push_token=token, status=Device.Status.ACTIVE
        )
        .exclude(installation_id=installation_id)
        .update(push_token="", token_updated_at=timezone.now(), updated_at=timezone.now())
    )
    if moved:
        logger.info(
            "SDK: token %s moved to installation %s (app %s)", token[:8], installation_id, app_id
        )
    return moved


_ACTIVITY = DeviceActivity._meta.db_table
_OUTBOX = TriggerOutbox._meta.db_table


# PostgreSQL: the upsert and the activity rows in ONE statement (a data-modifying CTE), run
# in autocommit, so a registration costs a single round trip after authentication — no
# BEGIN/COMMIT. `installed` and `push_registered` rows are kept only when the upsert says so.
# An activity an active trigger campaign listens for also gets its trigger outbox row in that
# statement, so the hot path needs no separate (cached) trigger lookup and no Celery message
# per call (devices.trigger_outbox). Built on first use: the listening
# condition comes from the hook campaigns registers at start-up (devices.hooks).
@cache
def _upsert_with_activities_sql() -> str:
    return f"""
WITH d AS ({_UPSERT_SQL}),
a AS (
    INSERT INTO {_ACTIVITY} (
        app_id, device_id, lead_id, kind, action_name, action_type, details,
        metric, length_seconds, delivery_id, occurred_at, created_at
    )
    SELECT %s, d.id, d.lead_id, k.kind, '', '', '', NULL, NULL, NULL, %s, %s
    FROM d CROSS JOIN (VALUES (1, 'installed'), (2, 'opened'), (3, 'push_registered'))
        AS k(ord, kind)
    WHERE k.kind = 'opened'
       OR (k.kind = 'installed' AND d.first_open = 1)
       OR (k.kind = 'push_registered' AND d.token_new = 1 AND %s)
    ORDER BY k.ord
    RETURNING id, device_id, kind
),
heard AS (SELECT a.id, a.device_id, a.kind, {listens_sql("a.kind")} AS listened FROM a),
o AS (INSERT INTO {_OUTBOX} (activity_id, created_at) SELECT id, %s FROM heard WHERE listened)
SELECT id, device_id, kind, listened FROM heard ORDER BY id
"""


def _upsert_params(
    *, app_id: int, secret_hash: str | None, data: dict[str, Any], now: Any
) -> list[Any]:
    token = data.get("push_token") or ""
    return [
        app_id,
        data["platform"],
        data["installation_id"],
        token,
        now if token else None,
        now,
        now,
        data.get("push_enabled", True),
        False,
        data.get("locale") or "",
        data.get("time_zone") or "",
        data.get("app_version") or "",
        data.get("os_version") or "",
        data.get("device_model") or "",
        now,
        now,
        app_id,
        secret_hash is None,  # a trusted caller (seed data, admin tools): no hash check
        secret_hash or "",
    ]


def _register_postgres(
    *, app_id: int, secret_hash: str | None, data: dict[str, Any], now: datetime
) -> Registration:
    token = data.get("push_token") or ""
    upsert = _upsert_params(app_id=app_id, secret_hash=secret_hash, data=data, now=now)
    with connection.cursor() as cursor:
        cursor.execute(
            _upsert_with_activities_sql(),
            [*upsert, app_id, now, now, bool(token), app_id, now],
        )
        rows = cursor.fetchall()
    if not rows:
        raise StaleCredentials(app_id)
    kinds = {kind for _, _, kind, _ in rows}
    activity_ids = [activity_id for activity_id, _, _, _ in rows]
    if any(listened for _, _, _, listened in rows):
        pump_wake_after_commit()
    return Registration(
        device_id=rows[0][1],
        installation_id=data["installation_id"],
        first_open=DeviceActivity.Kind.INSTALLED in kinds,
        token_registered=DeviceActivity.Kind.PUSH_REGISTERED in kinds,
        activity_ids=activity_ids,
    )


def _register_portable(
    *, app_id: int, secret_hash: str | None, data: dict[str, Any], now: datetime
) -> Registration:
    """Any other database (SQLite): the upsert, then the activity insert, in a transaction."""
    token = data.get("push_token") or ""
    db_now = connection.ops.adapt_datetimefield_value(now)
    upsert = _upsert_params(app_id=app_id, secret_hash=secret_hash, data=data, now=db_now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, upsert)
        row = cursor.fetchone()
        if row is None:
            raise StaleCredentials(app_id)
        device_id, lead_id, first_open_flag, token_flag = row
        first_open = bool(first_open_flag)
        token_registered = bool(token) and bool(token_flag)
        kinds = [DeviceActivity.Kind.INSTALLED] if first_open else []
        kinds.append(DeviceActivity.Kind.OPENED)
        if token_registered:
            kinds.append(DeviceActivity.Kind.PUSH_REGISTERED)
        activity_ids = activities_insert(
            [
                DeviceActivity(
                    app_id=app_id, device_id=device_id, lead_id=lead_id, kind=k, occurred_at=now
                )
                for k in kinds
            ]
        )
    return Registration(
        device_id, data["installation_id"], first_open, token_registered, activity_ids
    )


def _register_once(
    *, app_id: int, secret_hash: str | None, data: dict[str, Any], now: datetime
) -> Registration:
    register = _register_postgres if connection.vendor == "postgresql" else _register_portable
    return register(app_id=app_id, secret_hash=secret_hash, data=data, now=now)


def device_register(
    *, app_id: int, data: dict[str, Any], secret_hash: str | None = None
) -> Registration:
    """Record an app open (the SDK calls this on every launch). Safe to repeat and to race:
    the upsert is atomic on (app, installation_id). If the token is still held by another
    active device the unique index refuses the row; the retry moves the token first (an
    extra statement only that rare call pays). `secret_hash` is the app's SDK secret hash
    the caller authenticated with; if it is no longer current, StaleCredentials. None means a
    trusted internal caller (seed data): no check."""
    now = timezone.now()
    # Inside a caller's transaction the attempt needs a savepoint, or a refused row would
    # abort the caller's transaction (PostgreSQL); on its own it runs in autocommit.
    attempt = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with attempt:
            return _register_once(app_id=app_id, secret_hash=secret_hash, data=data, now=now)
    except IntegrityError:
        if not data.get("push_token"):
            raise
    with transaction.atomic():
        _token_move(
            app_id=app_id,
            platform=data["platform"],
            token=data["push_token"],
            installation_id=data["installation_id"],
        )
        return _register_once(app_id=app_id, secret_hash=secret_hash, data=data, now=now)


@transaction.atomic
def device_token_refresh(
    *, app_id: int, installation_id: str, push_token: str, push_enabled: bool | None = None
) -> Device:
    device = device_locked(app_id=app_id, installation_id=installation_id)
    error = push_token_error(platform=device.platform, token=push_token)
    if error:
        raise RegistryError("push_token", error)
    now = timezone.now()
    changed = push_token != device.push_token or device.status != Device.Status.ACTIVE
    _token_move(
        app_id=app_id, platform=device.platform, token=push_token, installation_id=installation_id
    )
    fields = ["updated_at"]
    if changed:
        device.push_token = push_token
        device.token_updated_at = now
        fields += ["push_token", "token_updated_at"]
    if device.status != Device.Status.ACTIVE:
        device.status, device.status_reason, device.status_changed_at = "active", "", now
        fields += ["status", "status_reason", "status_changed_at"]
    if push_enabled is not None and push_enabled != device.push_enabled:
        device.push_enabled = push_enabled
        fields.append("push_enabled")
    device.save(update_fields=fields)
    if changed:
        activities_insert(
            [
                DeviceActivity(
                    app_id=app_id,
                    device=device,
                    lead_id=device.lead_id,
                    kind=DeviceActivity.Kind.PUSH_REGISTERED,
                    occurred_at=now,
                )
            ]
        )
    return device
