"""Record: write a batch's outcomes in a few set-based statements.

Rows are grouped by (new status, platform); each group is one UPDATE whose per-row values
(provider id, reason, attempts, not_before) come from arrays joined on the id (PostgreSQL) or a
CASE on the id (SQLite, the SQL `bulk_update` produces), guarded by `status = 'sending' AND
claimed_at = <our claim>` so a batch that outlived the sweeper's timeout cannot overwrite rows
another worker re-claimed. The row counts those UPDATEs return drive the run's counters (one F()
UPDATE), so counters always equal the delivery rows. Dead tokens are deactivated in one UPDATE.

Answers are written in small batches as they arrive (`deliveries_record_results`: the rows and
their counters, under the run row's lock only), and a chunk's last batch locks the campaign and
the run (see `runs`) and settles the run (`deliveries_record_chunk_end`): the transaction that
records a run's last delivery completes it.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial, reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, Q, Value, When

from campaigns.ledger.counters import run_counters_add
from campaigns.ledger.runs import run_lock, run_row_lock, run_settle
from campaigns.models import Delivery
from devices.models import Device, PushCredential
from notifications.transports.base import Outcome, SendResult
from pushmarketing.core import metrics

logger = logging.getLogger(__name__)

S = Delivery.Status
TERMINAL = frozenset(Delivery.TERMINAL)


@dataclass(frozen=True)
class ClaimedDelivery:
    """What the send path needs of one claimed row (loaded once, with its device)."""

    id: int
    platform: str
    device_id: int
    token: str
    attempts: int
    lead_id: int | None
    variant: str = ""  # the A/B variant: which push the row sends (campaigns.delivery.content)


@dataclass
class _Change:
    status: str
    platform: str
    values: dict[str, Any]


@dataclass(frozen=True)
class RecordSummary:
    counts: dict[tuple[str, str], int]
    # Earliest not_before of rows put back to queued (the follow-up task's countdown).
    retry_at: datetime | None


def retry_delay_seconds(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never sooner than the provider's Retry-After.

    attempts=1 → base·[0.5, 1.5), 2 → 2·base·…, capped at PUSH_RETRY_MAX_SECONDS (1 h by
    default: well past any Retry-After FCM or APNs send in practice)."""
    base = settings.PUSH_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    delay = max(float(retry_after or 0), base * random.uniform(0.5, 1.5))  # noqa: S311 - retry jitter, not a secret
    return min(delay, float(settings.PUSH_RETRY_MAX_SECONDS))


def _field(name: str) -> models.Field:
    field = Delivery._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"Delivery.{name} is a relation, not a column")
    return field


def _column(name: str) -> str:
    return _field(name).get_attname_column()[1] or name


def _db(name: str, value: Any) -> Any:
    return _field(name).get_db_prep_value(value, connection)


def _write_group(
    *, ids_values: dict[int, dict[str, Any]], status: str, claimed_at: datetime, common: dict
) -> int:
    """One UPDATE for a group of rows, guarded by our claim.

    Hand-written SQL rather than ORM Case/When: resolving 500 When() expressions costs about
    as much CPU as sending the batch (measured ~1 ms per row)."""
    names = sorted({name for values in ids_values.values() for name in values})
    constants: dict[str, Any] = {"status": status, **common}
    per_row: list[str] = []
    for name in names:
        distinct = {values[name] for values in ids_values.values()}
        if len(distinct) == 1:
            # Same for every row (attempts=1, reason=""): a constant, not a per-row value.
            constants[name] = distinct.pop()
        else:
            per_row.append(name)
    quote = connection.ops.quote_name
    assignments: list[str] = []
    params: list[Any] = []
    for name, value in constants.items():
        assignments.append(f"{quote(_column(name))} = %s")
        params.append(_db(name, value))
    write = _write_from_arrays if connection.vendor == "postgresql" else _write_with_case
    sql, params = write(ids_values, per_row, assignments, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, S.SENDING, _db("claimed_at", claimed_at)])
        return cursor.rowcount


def _write_from_arrays(
    ids_values: dict[int, dict[str, Any]],
    per_row: list[str],
    assignments: list[str],
    params: list[Any],
) -> tuple[str, list[Any]]:
    """PostgreSQL: `UPDATE … FROM unnest(<one array per column>)`. The statement's text and
    its few parameters are the same whatever the batch size, so psycopg parses it once. It
    re-parses, in Python, any statement with more than 50 parameters: in a cProfile of 2,000
    sends that parsing (of the `CASE` form and of the `id IN (<500 ids>)` reads the send path
    had then) was ~20 % of the send path's CPU."""
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    columns = ["id", *per_row]
    arrays = ", ".join(f"%s::{_field(name).db_type(connection)}[]" for name in columns)
    for name in per_row:
        assignments.append(f"{quote(_column(name))} = v.{quote(_column(name))}")
    params.append(list(ids_values))
    for name in per_row:
        params.append([_db(name, values[name]) for values in ids_values.values()])
    names = ", ".join(quote(_column(name)) for name in columns)
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"FROM unnest({arrays}) AS v({names}) "
        f"WHERE {table}.{quote('id')} = v.{quote('id')} "
        f"AND {table}.{quote('status')} = %s AND {table}.{quote('claimed_at')} = %s"
    )
    return sql, params


def _write_with_case(
    ids_values: dict[int, dict[str, Any]],
    per_row: list[str],
    assignments: list[str],
    params: list[Any],
) -> tuple[str, list[Any]]:
    """SQLite: the per-row values from a `CASE id WHEN …`, the rows by `id IN (…)`."""
    quote = connection.ops.quote_name
    for name in per_row:
        branches = " ".join("WHEN %s THEN %s" for _ in ids_values)
        assignments.append(f"{quote(_column(name))} = CASE {quote('id')} {branches} END")
        for pk, values in ids_values.items():
            params.extend([pk, _db(name, values[name])])
    ids = list(ids_values)
    sql = (
        f"UPDATE {quote(Delivery._meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"WHERE {quote('id')} IN ({', '.join(['%s'] * len(ids))}) "
        f"AND {quote('status')} = %s AND {quote('claimed_at')} = %s"
    )
    params.extend(ids)
    return sql, params


def _apply(
    changes: dict[int, _Change], *, run_id: int, claimed_at: datetime, common: dict[str, dict]
) -> dict[tuple[str, str], int]:
    groups: dict[tuple[str, str], dict[int, dict[str, Any]]] = defaultdict(dict)
    for pk, change in changes.items():
        groups[(change.status, change.platform)][pk] = change.values
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for (status, platform), ids_values in groups.items():
        counts[(status, platform)] += _write_group(
            ids_values=ids_values,
            status=status,
            claimed_at=claimed_at,
            common=common.get(status, {}),
        )
    # Rows put back to `queued` for a retry are not an outcome yet: only terminal ones count.
    run_counters_add(
        run_id=run_id, counts={key: n for key, n in counts.items() if key[0] in TERMINAL}
    )
    transaction.on_commit(partial(metrics.deliveries_recorded, dict(counts)))
    return dict(counts)


@transaction.atomic
def deliveries_record_skipped(
    *,
    run_id: int,
    campaign_id: int | None,
    claimed_at: datetime,
    skips: dict[int, tuple[str, str]],
    now: datetime,
) -> dict[tuple[str, str], int]:
    """Claimed rows that must not be sent: {delivery id: (platform, reason code)}."""
    run = run_lock(run_id=run_id, campaign_id=campaign_id)
    changes = {
        pk: _Change(status=S.SKIPPED, platform=platform, values={"reason": reason})
        for pk, (platform, reason) in skips.items()
    }
    counts = _apply(changes, run_id=run_id, claimed_at=claimed_at, common={})
    if run is not None:
        run_settle(run=run, now=now)
    return counts


@transaction.atomic
def deliveries_requeue(
    *,
    run_id: int,
    campaign_id: int | None,
    claimed_at: datetime,
    not_before: Mapping[int, datetime | None],
) -> int:
    """Give claimed rows back unsent (throttled, run paused): no attempt is spent.

    `not_before` per row: when it may be claimed again (None: when dispatched again). Under
    the run lock, so a pause or resume never interleaves with rows going back."""
    if not not_before:
        return 0
    run_lock(run_id=run_id, campaign_id=campaign_id)
    if len(set(not_before.values())) == 1:
        return Delivery.objects.filter(
            id__in=list(not_before), status=S.SENDING, claimed_at=claimed_at
        ).update(status=S.QUEUED, claimed_at=None, not_before=next(iter(not_before.values())))
    return _write_group(
        ids_values={pk: {"not_before": when} for pk, when in not_before.items()},
        status=S.QUEUED,
        claimed_at=claimed_at,
        common={"claimed_at": None},
    )


def _change_for(row: ClaimedDelivery, result: SendResult, *, now: datetime) -> _Change:
    attempts = row.attempts + 1
    if result.outcome == Outcome.SENT:
        values = {"provider_id": result.provider_id[:200], "attempts": attempts, "reason": ""}
        return _Change(S.SENT, row.platform, values)
    reason = (result.reason or result.outcome.value)[:200]
    if result.outcome == Outcome.TOKEN_INVALID:
        return _Change(S.TOKEN_INVALID, row.platform, {"reason": reason, "attempts": attempts})
    if result.outcome == Outcome.RETRY and attempts < settings.PUSH_MAX_ATTEMPTS:
        delay = retry_delay_seconds(attempts=attempts, retry_after=result.retry_after)
        values = {
            "reason": f"retrying: {reason}"[:200],
            "attempts": attempts,
            "not_before": now + timedelta(seconds=delay),
        }
        return _Change(S.QUEUED, row.platform, values)
    if result.outcome == Outcome.RETRY:
        reason = f"gave up after {attempts} attempts: {reason}"[:200]
    return _Change(S.FAILED, row.platform, {"reason": reason, "attempts": attempts})


def _token_unchanged_since(
    rows: Sequence[tuple[ClaimedDelivery, SendResult]], *, claimed_at: datetime
) -> Q:
    """Devices whose token was last registered no later than the batch's claim (one that
    refreshed its token while the batch was in flight keeps it: the new token is not known to
    be dead) and, for an APNs 410, no later than Apple's timestamp (the device may have
    reinstalled and reported the same token since). Compared in SQL: the send path does not
    load each row's token_updated_at to check the rare 410 (parsing 1,000 timestamps per
    chunk in Python cost ~3 % of the worker's CPU)."""
    ids_by_cutoff: dict[datetime, list[int]] = defaultdict(list)
    for row, result in rows:
        cutoff = claimed_at
        if result.invalid_since_ms is not None:
            invalid_since = datetime.fromtimestamp(result.invalid_since_ms / 1000, tz=UTC)
            cutoff = min(cutoff, invalid_since)
        ids_by_cutoff[cutoff].append(row.device_id)
    return reduce(
        or_,
        (
            Q(id__in=ids) & (Q(token_updated_at__isnull=True) | Q(token_updated_at__lte=cutoff))
            for cutoff, ids in ids_by_cutoff.items()
        ),
    )


def _deactivate_devices(
    rows: Sequence[tuple[ClaimedDelivery, SendResult]], *, claimed_at: datetime, now: datetime
) -> int:
    if not rows:
        return 0
    # One UPDATE, guarded by the token each row was sent to and when it was registered.
    reason = Case(
        *[When(id=row.device_id, then=Value(result.reason[:120])) for row, result in rows],
        output_field=Device._meta.get_field("status_reason"),
    )
    return Device.objects.filter(
        _token_unchanged_since(rows, claimed_at=claimed_at),
        push_token__in=[row.token for row, _ in rows],
        status=Device.Status.ACTIVE,
    ).update(status=Device.Status.TOKEN_INVALID, status_reason=reason, status_changed_at=now)


def _flag_credentials(
    rows: Sequence[tuple[ClaimedDelivery, SendResult]], *, app_id: int, now: datetime
) -> None:
    for platform in {row.platform for row, _ in rows}:
        reason = next(result.reason for row, result in rows if row.platform == platform)
        PushCredential.objects.filter(app_id=app_id, platform=platform).update(
            verification=PushCredential.Verification.FAILED,
            verification_reason=reason[:300],
            verified_at=now,
        )
        logger.warning("send: app %s %s credentials rejected: %s", app_id, platform, reason)


def _record(
    *,
    run_id: int,
    app_id: int,
    claimed_at: datetime,
    rows: Sequence[ClaimedDelivery],
    results: Sequence[SendResult],
    now: datetime,
) -> RecordSummary:
    changes = {
        row.id: _change_for(row, result, now=now) for row, result in zip(rows, results, strict=True)
    }
    counts = _apply(
        changes,
        run_id=run_id,
        claimed_at=claimed_at,
        common={S.SENT: {"sent_at": now}, S.QUEUED: {"claimed_at": None}},
    )
    paired = list(zip(rows, results, strict=True))
    invalid = [(row, result) for row, result in paired if result.outcome == Outcome.TOKEN_INVALID]
    if invalid:
        _deactivate_devices(invalid, claimed_at=claimed_at, now=now)
    rejected = [(row, result) for row, result in paired if result.credentials_rejected]
    if rejected:
        _flag_credentials(rejected, app_id=app_id, now=now)
    retry_times = [c.values["not_before"] for c in changes.values() if c.status == S.QUEUED]
    return RecordSummary(counts=counts, retry_at=min(retry_times) if retry_times else None)


@transaction.atomic
def deliveries_record_results(
    *,
    run_id: int,
    app_id: int,
    claimed_at: datetime,
    rows: Sequence[ClaimedDelivery],
    results: Sequence[SendResult],
    now: datetime,
) -> RecordSummary:
    """Write a batch of answers while the chunk is still sending: the rows, their counters
    and dead tokens, in a constant number of statements whatever its size.

    Neither the campaign lock nor the settle check: those only matter once the chunk's last
    answer is in (`deliveries_record_chunk_end`), and they were three ORM statements of every
    batch of ~50 answers. The counters still move in the same transaction as the rows, so a
    worker killed between two batches leaves counters equal to rows."""
    run_row_lock(run_id)
    return _record(
        run_id=run_id,
        app_id=app_id,
        claimed_at=claimed_at,
        rows=rows,
        results=results,
        now=now,
    )


@transaction.atomic
def deliveries_record_chunk_end(
    *,
    run_id: int,
    campaign_id: int | None,
    app_id: int,
    claimed_at: datetime,
    rows: Sequence[ClaimedDelivery],
    results: Sequence[SendResult],
    now: datetime,
) -> RecordSummary:
    """Write a chunk's last answers (possibly none) under the campaign and run locks, then
    settle the run: the transaction that records a run's last delivery completes it, and it
    sees every other chunk's committed outcome."""
    run = run_lock(run_id=run_id, campaign_id=campaign_id)
    summary = _record(
        run_id=run_id,
        app_id=app_id,
        claimed_at=claimed_at,
        rows=rows,
        results=results,
        now=now,
    )
    if run is not None:
        run_settle(run=run, now=now)
    return summary
