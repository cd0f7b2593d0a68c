"""The one statement behind "what should I show now?": the device, its lead's token fields,
and for each candidate campaign its audience as a boolean plus the display state its limit
needs (last impression or first tap), as scalar subqueries on the state table's unique index.

Building that statement through the ORM (20 audiences of EXISTS subqueries) costs several
milliseconds of CPU, more than running it, so it is compiled once per process for each
(app, snapshot version, candidate set) and reused with the installation id and secret hash
put into their parameter slots. A compiled statement is rebuilt after a minute because the
audiences' "within N days" cutoffs are parameters fixed at compile time: a minute is the
precision those filters promise."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Subquery, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.audience import AudienceError, audience_q
from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import Device
from inapp.models import InAppCampaign, InAppDisplayState
from inapp.selectors.live import LiveCampaign

COMPILED_SECONDS = 60.0
COMPILED_MAX = 256
Limit = InAppCampaign.DisplayLimit
DEVICE_COLUMNS = ("id", "platform", "lead_id", "first_opened_at", "last_opened_at")
LEAD_COLUMNS = tuple(f"lead__{attr}" for attr in STANDARD_LEAD_FIELDS.values()) + (
    "lead__custom_fields",
)
# Stand-ins compiled into the statement, replaced by the request's values (never sent).
_INSTALLATION_MARK = f"installation-{uuid.uuid4().hex}"
_HASH_MARK = f"secret-hash-{uuid.uuid4().hex}"
_PLACEHOLDER = re.compile(r"%%|%s")


@dataclass(frozen=True)
class CompiledRead:
    # `sql` in Django's %s style; `dollar_sql` the same with $1…$n for psycopg's RawCursor.
    sql: str
    dollar_sql: str
    params: tuple[Any, ...]
    installation_slot: int
    hash_slot: int | None
    columns: tuple[str, ...]
    built_at: float


@dataclass(frozen=True)
class DeviceView:
    """What eligibility needs of the device, read by the compiled statement."""

    id: int
    platform: str
    first_opened_at: dt.datetime | None
    last_opened_at: dt.datetime | None
    lead: SimpleNamespace | None
    members: frozenset[int]
    last_impression: dict[int, dt.datetime]
    tapped: frozenset[int]


_COMPILED: dict[tuple[Any, ...], CompiledRead] = {}


def _audience(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return Value(True)
    try:
        return ExpressionWrapper(audience_q(rows), output_field=BooleanField())
    except AudienceError:
        # Validated when saved; a rule that no longer validates (a filter retired since)
        # matches nobody rather than everybody.
        return Value(False)


def _state(campaign_id: int, column: str) -> Subquery:
    states = InAppDisplayState.objects.filter(campaign_id=campaign_id, device_id=OuterRef("pk"))
    return Subquery(states.values(column)[:1])


def _compile(candidates: list[LiveCampaign], *, app_id: int, with_hash: bool) -> CompiledRead:
    devices = Device.objects.filter(app_id=app_id, installation_id=_INSTALLATION_MARK)
    if with_hash:
        # The SDK's app lookup is cached per process; the secret is re-checked here, in the
        # same statement, so a rotated secret stops reading at once.
        devices = devices.filter(app__sdk_secret_hash=_HASH_MARK)
    annotations: dict[str, Any] = {}
    for campaign in candidates:
        annotations[f"in_{campaign.id}"] = _audience(campaign.audience)
        if campaign.display_limit == Limit.ONCE_PER_SESSION:
            annotations[f"seen_{campaign.id}"] = _state(campaign.id, "last_impression_at")
        elif campaign.display_limit == Limit.UNTIL_TAPPED:
            annotations[f"tapped_{campaign.id}"] = _state(campaign.id, "tapped_at")
    columns = (*DEVICE_COLUMNS, *LEAD_COLUMNS, *annotations)
    query = devices.annotate(**annotations).values(*columns).order_by().query
    sql, params = query.sql_with_params()
    params = tuple(params)
    return CompiledRead(
        sql=sql,
        dollar_sql=_dollar_placeholders(sql),
        params=params,
        installation_slot=params.index(_INSTALLATION_MARK),
        hash_slot=params.index(_HASH_MARK) if with_hash else None,
        columns=columns,
        built_at=time.monotonic(),
    )


def _dollar_placeholders(sql: str) -> str:
    """Django's `%s` placeholders as PostgreSQL's `$n` (and `%%` back to `%`), left to right."""
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(swap, sql)


def _cursor(compiled: CompiledRead) -> tuple[Any, str]:
    """A cursor and the statement text for it. On PostgreSQL a RawCursor takes the `$n` text
    as it is: psycopg parses `%s` text on every call when a statement is longer than 4 KiB
    (its cache's limit), which was a tenth of this endpoint's CPU. Wrapped as Django wraps
    its own cursors, so execute wrappers and error translation still apply. While queries are
    logged (DEBUG, tests capturing them) Django re-renders each statement from `%s` text, so
    the ordinary cursor is used then."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        return connection.cursor(), compiled.sql
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = psycopg.RawCursor(connection.connection)
        return CursorWrapper(raw, connection), compiled.dollar_sql


def _compiled(
    candidates: list[LiveCampaign], *, app_id: int, version: str, with_hash: bool
) -> CompiledRead:
    key = (app_id, version, tuple(c.id for c in candidates), with_hash)
    compiled = _COMPILED.get(key)
    if compiled is None or time.monotonic() - compiled.built_at > COMPILED_SECONDS:
        if len(_COMPILED) >= COMPILED_MAX:
            _COMPILED.clear()
        compiled = _COMPILED[key] = _compile(candidates, app_id=app_id, with_hash=with_hash)
    return compiled


def _as_datetime(value: Any) -> dt.datetime | None:
    # A raw cursor skips the ORM's converters: SQLite answers text, PostgreSQL datetimes.
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def _lead(row: dict[str, Any]) -> SimpleNamespace | None:
    if row["lead_id"] is None:
        return None
    custom = row["lead__custom_fields"]
    fields = {attr: row[f"lead__{attr}"] for attr in STANDARD_LEAD_FIELDS.values()}
    return SimpleNamespace(
        **fields, custom_fields=json.loads(custom) if isinstance(custom, str) else custom
    )


def device_read(
    candidates: list[LiveCampaign],
    *,
    app_id: int,
    version: str,
    installation_id: str,
    secret_hash: str | None,
) -> DeviceView | None:
    """The device as eligibility sees it, or None when the app has no such installation (or
    `secret_hash` is no longer the app's)."""
    compiled = _compiled(
        candidates, app_id=app_id, version=version, with_hash=secret_hash is not None
    )
    params = list(compiled.params)
    params[compiled.installation_slot] = installation_id
    if compiled.hash_slot is not None:
        params[compiled.hash_slot] = secret_hash
    cursor, sql = _cursor(compiled)
    with cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip(compiled.columns, found, strict=True))
    last_impression = {}
    for campaign in candidates:
        seen = _as_datetime(row.get(f"seen_{campaign.id}"))
        if seen is not None:
            last_impression[campaign.id] = seen
    return DeviceView(
        id=row["id"],
        platform=row["platform"],
        first_opened_at=_as_datetime(row["first_opened_at"]),
        last_opened_at=_as_datetime(row["last_opened_at"]),
        lead=_lead(row),
        members=frozenset(c.id for c in candidates if row[f"in_{c.id}"]),
        last_impression=last_impression,
        tapped=frozenset(c.id for c in candidates if row.get(f"tapped_{c.id}") is not None),
    )
