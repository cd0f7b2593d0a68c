"""Run counters: one table from (outcome, platform) to the CampaignRun field, built from the
model, and one UPDATE that adds to them. A key that is not in the table is a KeyError, never
silently dropped."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from django.db import connection
from django.db.models import Count, Field, Q
from django.db.models.functions import Now

from campaigns.models import CampaignRun, Delivery
from devices.models import Platform

PLATFORMS: tuple[str, ...] = tuple(Platform.values)
# Delivery outcomes the run counts; `queued` counts the rows queued when they were created.
COUNTED_STATUSES: tuple[str, ...] = (
    Delivery.Status.QUEUED,
    Delivery.Status.SENT,
    Delivery.Status.FAILED,
    Delivery.Status.TOKEN_INVALID,
    Delivery.Status.SKIPPED,
)
# Feedback the SDK reports, keyed by the Delivery timestamp that records it.
FEEDBACK_STAMPS: dict[str, str] = {"received": "received_at", "tapped": "tapped_at"}


def _counter_table() -> dict[tuple[str, str], str]:
    wanted = {*COUNTED_STATUSES, *FEEDBACK_STAMPS}
    table: dict[tuple[str, str], str] = {}
    for field in CampaignRun._meta.concrete_fields:
        outcome, _, platform = field.name.rpartition("_")
        if outcome in wanted and platform in PLATFORMS:
            table[(outcome, platform)] = field.name
    missing = {(o, p) for o in wanted for p in PLATFORMS} - set(table)
    if missing:
        raise LookupError(f"CampaignRun has no counter field for {sorted(missing)}")
    return table


COUNTER_FIELDS: dict[tuple[str, str], str] = _counter_table()


def run_counters_add(*, run_id: int, counts: Mapping[tuple[str, str], int], total: int = 0) -> None:
    """Add per-(outcome, platform) counts (and new rows to `total`) in one UPDATE.

    Hand-written: the send path calls this for every batch of ~50 answers, and compiling the
    ORM's F() UPDATE cost more CPU than the statement takes to run."""
    changes: dict[str, int] = {}
    for key, n in counts.items():
        if n:
            changes[COUNTER_FIELDS[key]] = n
    if total:
        changes["total"] = total
    if not changes:
        return
    quote = connection.ops.quote_name
    columns = [quote(_column(name)) for name in changes]
    # The same UPDATE says the run moved (the sweeper's stall check reads it), by the
    # database's clock as Now() reads it.
    sets = ", ".join(f"{column} = {column} + %s" for column in columns)
    sql = (
        f"UPDATE {quote(CampaignRun._meta.db_table)} SET {sets}, "  # noqa: S608 - identifiers from model metadata; every value is a parameter
        f"{quote('progressed_at')} = {_now_sql(connection.vendor)} WHERE {quote('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), run_id])


def _column(name: str) -> str:
    field = CampaignRun._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"CampaignRun.{name} is not a column")
    return field.column


@cache
def _now_sql(vendor: str) -> str:
    """Now() as the database spells it (STATEMENT_TIMESTAMP() on PostgreSQL)."""
    compiler = CampaignRun.objects.none().query.get_compiler(connection=connection)
    sql, _ = compiler.compile(Now())
    return sql


def run_counters_from_rows(run: CampaignRun) -> None:
    """Set total, queued_* and skipped_* from one GROUP BY, right after a run's rows were
    created (nothing else can have touched them: the run is not dispatched yet)."""
    values = {
        COUNTER_FIELDS[(status, platform)]: 0
        for status in (Delivery.Status.QUEUED, Delivery.Status.SKIPPED)
        for platform in PLATFORMS
    }
    rows = (
        Delivery.objects.filter(run=run)
        .values("platform", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    total = 0
    for row in rows:
        total += row["n"]
        name = COUNTER_FIELDS.get((row["status"], row["platform"]))
        if name in values:
            values[name] += row["n"]
    run.total = total
    for name, value in values.items():
        setattr(run, name, value)
    run.save(update_fields=["total", *values])


def runs_counter_drift(run_ids: list[int] | None = None) -> list[str]:
    """Runs whose counters differ from their rows, as readable lines (empty when all agree).

    One aggregate per run set; the system health page and the test suite both use it. Runs
    whose rows retention purged are left out: their counters are the record of rows that
    are gone (campaigns.ledger.retention)."""
    runs = CampaignRun.objects.filter(deliveries_purged_at=None)
    if run_ids is not None:
        runs = runs.filter(pk__in=run_ids)
    aggregates: dict[str, Count] = {"rows": Count("deliveries")}
    for (outcome, platform), name in COUNTER_FIELDS.items():
        if outcome == Delivery.Status.QUEUED:
            continue  # rows queued at creation: later outcomes move them on
        condition = Q(deliveries__platform=platform)
        if outcome in FEEDBACK_STAMPS:
            condition &= Q(**{f"deliveries__{FEEDBACK_STAMPS[outcome]}__isnull": False})
        else:
            condition &= Q(deliveries__status=outcome)
        aggregates[f"rows_{name}"] = Count("deliveries", filter=condition)
    fields = ["pk", "total", *(name for name in COUNTER_FIELDS.values())]
    drift: list[str] = []
    for row in runs.annotate(**aggregates).values(*fields, *aggregates):
        if row["total"] != row["rows"]:
            drift.append(f"run {row['pk']}: total {row['total']} != {row['rows']} rows")
        for name in COUNTER_FIELDS.values():
            counted = row.get(f"rows_{name}")
            if counted is not None and row[name] != counted:
                drift.append(f"run {row['pk']}: {name} {row[name]} != {counted} rows")
    return drift
