"""Device registry: every write the SDK API makes (devices, leads, activities, test pairing).

The register call is the hot path (every app open of every phone), so it is one upsert
statement plus one activity insert; everything else is a handful of statements in one
transaction. Activity ids are handed to the trigger engine after commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import available_timezones

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from devices.models import (
    Device,
    DeviceActivity,
    Lead,
    MobileApp,
    Platform,
    TestDevicePairing,
)
from devices.trigger_listeners import listens_sql, trigger_kinds_for

logger = logging.getLogger(__name__)

TRIGGER_TASK_NAME = "campaigns.triggers_evaluate"
TRIGGER_QUEUE = "send"
MAX_ACTIVITIES_PER_CALL = 100
# A phone's clock may run a little fast; more than this in the future is a client bug.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Marketo's rule: custom action names are under 20 characters.
MAX_ACTION_NAME_LENGTH = 19
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_FIELD_KEY_LENGTH = 50
MAX_CUSTOM_FIELD_VALUE_LENGTH = 255
# Device.push_token is a 255-character column under a unique B-tree index; real FCM
# registration tokens are about 160 characters, so 255 leaves ample room.
FCM_TOKEN_MIN, FCM_TOKEN_MAX = 100, 255
APNS_TOKEN_MIN, APNS_TOKEN_MAX = 64, 200

_HEX = re.compile(r"[0-9a-fA-F]+")
_FCM_CHARS = re.compile(r"[A-Za-z0-9_:.\-]+")
_LOCALE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*")


class RegistryError(Exception):
    """Bad input discovered by a service; `field` names the input, the message the rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AppRef(Protocol):
    """A MobileApp or the SDK's light app reference: all a service needs is the id."""

    @property
    def pk(self) -> int: ...


class StaleCredentials(Exception):
    """The app's SDK secret changed (or the app was deleted) since the caller authenticated."""


class DeviceNotFound(Exception):
    """No device with that installation id in the calling app (other apps' devices included)."""


# --- Validation rules (pure; serializers call them so the API can name the field) -------------


def push_token_error(*, platform: str, token: str) -> str | None:
    """The rule `token` breaks for `platform`, or None when it is well-formed."""
    if platform == Platform.IOS:
        if not (APNS_TOKEN_MIN <= len(token) <= APNS_TOKEN_MAX) or len(token) % 2:
            return (
                f"APNs device token must be an even number of hex characters, "
                f"{APNS_TOKEN_MIN}-{APNS_TOKEN_MAX} long (got {len(token)})."
            )
        if not _HEX.fullmatch(token):
            return "APNs device token must contain only hex characters 0-9, a-f."
        return None
    if not (FCM_TOKEN_MIN <= len(token) <= FCM_TOKEN_MAX):
        return (
            f"FCM registration token must be {FCM_TOKEN_MIN}-{FCM_TOKEN_MAX} characters "
            f"long (got {len(token)})."
        )
    if not _FCM_CHARS.fullmatch(token):
        return "FCM registration token may contain only letters, digits and _ : . -"
    return None


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone_error(value: str) -> str | None:
    if value and value not in _time_zones():
        return "Must be an IANA time zone name such as Europe/Paris."
    return None


def locale_error(value: str) -> str | None:
    if value and not _LOCALE.fullmatch(value):
        return "Must be a locale such as en, en_US or pt-BR."
    return None


def occurred_at_error(value: datetime, *, now: datetime) -> str | None:
    if value > now + MAX_CLOCK_SKEW:
        return "Must not be more than 5 minutes in the future."
    return None


def custom_fields_error(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "Must be an object of field name to string, number or boolean."
    if len(value) > MAX_CUSTOM_FIELDS:
        return f"At most {MAX_CUSTOM_FIELDS} custom fields."
    for key, item in value.items():
        if not key or len(key) > MAX_CUSTOM_FIELD_KEY_LENGTH:
            return f"Field names must be 1-{MAX_CUSTOM_FIELD_KEY_LENGTH} characters."
        if item is not None and not isinstance(item, (str, int, float, bool)):
            return f"Value of {key!r} must be a string, number or boolean."
        if isinstance(item, str) and len(item) > MAX_CUSTOM_FIELD_VALUE_LENGTH:
            return f"Value of {key!r} must be at most {MAX_CUSTOM_FIELD_VALUE_LENGTH} characters."
    return None


# --- Trigger hand-off -------------------------------------------------------------------------


def _send_trigger_message(activity_ids: list[int]) -> None:
    from pushmarketing.celery import app as celery_app

    try:
        # retry=False: a broker outage must cost the SDK call milliseconds, not a retry loop.
        celery_app.send_task(
            TRIGGER_TASK_NAME, args=[activity_ids], queue=TRIGGER_QUEUE, retry=False
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure is logged, never raised
        logger.warning(
            "SDK: could not queue trigger evaluation for %d activities: %s",
            len(activity_ids),
            exc.__class__.__name__,
        )


def _after_commit_send_triggers(activity_ids: list[int]) -> None:
    if activity_ids:
        transaction.on_commit(lambda: _send_trigger_message(activity_ids))


def _after_commit_evaluate_triggers(*, app_id: int, activities: list[tuple[int, str]]) -> None:
    """Hand (id, kind) activities to trigger evaluation after commit, if a trigger listens."""
    listening = trigger_kinds_for(app_id) if activities else frozenset()
    _after_commit_send_triggers(
        [activity_id for activity_id, kind in activities if kind in listening]
    )


def _insert_activities(rows: Sequence[DeviceActivity]) -> list[int]:
    created = DeviceActivity.objects.bulk_create(rows)
    if created:
        _after_commit_evaluate_triggers(
            app_id=created[0].app_id, activities=[(row.pk, row.kind) for row in created]
        )
    return [row.pk for row in created]


# --- Register ---------------------------------------------------------------------------------


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
# `token_updated_at` equals `updated_at` exactly when this call stored a new token. Empty strings mean "not sent: keep what is stored".
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
                      ELSE d.push_token END,
    token_updated_at = CASE WHEN EXCLUDED.push_token <> '' AND EXCLUDED.push_token <> d.push_token
                            THEN EXCLUDED.updated_at ELSE d.token_updated_at END,
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


# PostgreSQL: the upsert and the activity rows in ONE statement (a data-modifying CTE), run
# in autocommit, so a registration costs a single round trip after authentication — no
# BEGIN/COMMIT. `installed` and `push_registered` rows are kept only when the upsert says so.
# Each activity row also says whether an active trigger campaign listens for its kind, so the
# hot path needs no separate (cached) trigger lookup. Built on first use: it names the
# campaigns table, whose model is looked up by name.
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
)
SELECT a.id, a.device_id, a.kind, {listens_sql("a.kind")} FROM a ORDER BY a.id
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
            _upsert_with_activities_sql(), [*upsert, app_id, now, now, bool(token), app_id]
        )
        rows = cursor.fetchall()
    if not rows:
        raise StaleCredentials(app_id)
    kinds = {kind for _, _, kind, _ in rows}
    activity_ids = [activity_id for activity_id, _, _, _ in rows]
    _after_commit_send_triggers([activity_id for activity_id, _, _, heard in rows if heard])
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
        activity_ids = _insert_activities(
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


# --- Other device writes ----------------------------------------------------------------------


def _locked_device(*, app_id: int, installation_id: str) -> Device:
    try:
        return Device.objects.select_for_update().get(
            app_id=app_id, installation_id=installation_id
        )
    except Device.DoesNotExist as exc:
        raise DeviceNotFound(installation_id) from exc


@transaction.atomic
def device_token_refresh(
    *, app_id: int, installation_id: str, push_token: str, push_enabled: bool | None = None
) -> Device:
    device = _locked_device(app_id=app_id, installation_id=installation_id)
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
        _insert_activities(
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


LEAD_STANDARD_FIELDS = ("first_name", "last_name", "phone", "company", "city", "country")


def _lead_upsert(*, email: str, attributes: dict[str, Any]) -> Lead:
    """Find the lead by email (case-insensitive) or create it; fields sent overwrite, custom
    fields merge. A race on the unique lower(email) index falls back to the winner's row."""
    lead = Lead.objects.select_for_update().filter(email__iexact=email).first()
    if lead is None:
        try:
            with transaction.atomic():
                lead = Lead.objects.create(email=email)
        except IntegrityError:
            lead = Lead.objects.select_for_update().get(email__iexact=email)
    changed = []
    for name in LEAD_STANDARD_FIELDS:
        value = attributes.get(name)
        # Blank means "not known here", never "erase": SDKs often send empty strings.
        if value and value != getattr(lead, name):
            setattr(lead, name, value)
            changed.append(name)
    custom = attributes.get("custom_fields")
    if custom:
        merged = {**(lead.custom_fields or {}), **custom}
        if len(merged) > MAX_CUSTOM_FIELDS:
            raise RegistryError("custom_fields", f"A lead may hold at most {MAX_CUSTOM_FIELDS}.")
        lead.custom_fields = merged
        changed.append("custom_fields")
    if changed:
        lead.save(update_fields=[*changed, "updated_at"])
    return lead


@transaction.atomic
def device_lead_associate(
    *, app_id: int, installation_id: str, email: str, attributes: dict[str, Any]
) -> Device:
    """A shared device follows the last lead that logged in on it."""
    device = _locked_device(app_id=app_id, installation_id=installation_id)
    lead = _lead_upsert(email=email, attributes=attributes)
    if device.lead_id != lead.pk:
        device.lead = lead
        device.save(update_fields=["lead", "updated_at"])
    return device


@transaction.atomic
def device_unregister(*, app_id: int, installation_id: str, reason: str = "logout") -> Device:
    """Logout: the token is dropped and push disabled until the app registers again."""
    device = _locked_device(app_id=app_id, installation_id=installation_id)
    device.push_enabled = False
    device.push_token = ""
    device.status = Device.Status.UNREGISTERED
    device.status_reason = reason
    device.status_changed_at = timezone.now()
    device.save(
        update_fields=[
            "push_enabled",
            "push_token",
            "status",
            "status_reason",
            "status_changed_at",
            "updated_at",
        ]
    )
    return device


# --- Activities -------------------------------------------------------------------------------


def _record_push_feedback(
    *, device: Device, items: list[tuple[int, dict[str, Any]]], field_prefix: str
) -> None:
    """Mark deliveries received/tapped. Each timestamp is set once, with a conditional UPDATE;
    only the call that set it bumps the run counter, so repeats never double-count."""
    from campaigns.models import CampaignRun, Delivery

    wanted = {item["delivery_id"] for _, item in items}
    owned = dict(
        Delivery.objects.filter(pk__in=wanted, device_id=device.pk).values_list("pk", "run_id")
    )
    for index, item in items:
        if item["delivery_id"] not in owned:
            raise RegistryError(
                f"{field_prefix}.{index}.delivery_id",
                "No delivery with this id was sent to this device.",
            )
    for _, item in items:
        # A tap proves receipt: iOS apps often cannot report `received` (no code runs when a
        # push arrives in the background), so a tap also sets received_at if it is unset.
        stamps = ["received_at"]
        if item["kind"] == DeviceActivity.Kind.PUSH_TAPPED:
            stamps.append("tapped_at")
        for stamp in stamps:
            updated = Delivery.objects.filter(
                pk=item["delivery_id"], **{f"{stamp}__isnull": True}
            ).update(**{stamp: item["occurred_at"]})
            if updated:
                counter = f"{stamp.removesuffix('_at')}_{device.platform}"
                CampaignRun.objects.filter(pk=owned[item["delivery_id"]]).update(
                    **{counter: F(counter) + 1}
                )


@transaction.atomic
def device_activities_record(
    *,
    app_id: int,
    installation_id: str,
    activities: Iterable[dict[str, Any]],
    field_prefix: str = "activities",
) -> list[int]:
    """Append activities reported by the SDK; all or nothing. Returns the new activity ids."""
    items = list(activities)
    if not 1 <= len(items) <= MAX_ACTIVITIES_PER_CALL:
        raise RegistryError(field_prefix, f"Send 1-{MAX_ACTIVITIES_PER_CALL} activities.")
    device = _locked_device(app_id=app_id, installation_id=installation_id)
    now = timezone.now()
    for item in items:
        item.setdefault("occurred_at", now)
    feedback = [
        (index, item)
        for index, item in enumerate(items)
        if item["kind"] in (DeviceActivity.Kind.PUSH_RECEIVED, DeviceActivity.Kind.PUSH_TAPPED)
    ]
    if feedback:
        _record_push_feedback(device=device, items=feedback, field_prefix=field_prefix)
    opens = [item["occurred_at"] for item in items if item["kind"] == DeviceActivity.Kind.OPENED]
    if opens:
        device.last_opened_at = max(opens + [device.last_opened_at or opens[0]])
        device.first_opened_at = device.first_opened_at or min(opens)
        device.save(update_fields=["last_opened_at", "first_opened_at", "updated_at"])
    return _insert_activities(
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


# --- Test devices -----------------------------------------------------------------------------


@transaction.atomic
def device_pair_test(*, app: AppRef, installation_id: str, code: str) -> Device:
    """Use a pairing code (one use, not expired, same app) to make a device a named test
    device. A code of another app is reported exactly like an unknown one."""
    pairing = TestDevicePairing.objects.select_for_update().filter(code=code, app_id=app.pk).first()
    if pairing is None:
        raise RegistryError("code", "No pairing with this code exists for this app.")
    if pairing.paired_at is not None:
        raise RegistryError("code", "This pairing code has already been used.")
    if pairing.expires_at <= timezone.now():
        raise RegistryError("code", "This pairing code has expired; ask for a new one.")
    try:
        device = _locked_device(app_id=app.pk, installation_id=installation_id)
    except DeviceNotFound as exc:
        raise RegistryError(
            "installation_id", "No device with this installation id; register it first."
        ) from exc
    device.is_test_device = True
    device.test_device_name = pairing.name
    device.save(update_fields=["is_test_device", "test_device_name", "updated_at"])
    pairing.device = device
    pairing.paired_at = timezone.now()
    pairing.save(update_fields=["device", "paired_at"])
    return device
