"""Ledger invariants the integration suite checks while a real worker writes.

`runs_counter_drift()`: every run's counters equal its delivery rows (runs whose rows retention
purged excepted). `runs_open_without_work()`: no run is left `sending` with nothing queued or
sending. Each reads ONE consistent snapshot (a single SQL statement, inside one transaction),
so a worker committing a batch between two reads cannot produce a false drift: a batch's rows
and its counter UPDATE commit together, and one statement sees either both or neither
(PostgreSQL: the statement's snapshot; SQLite: the read transaction's WAL snapshot).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from campaigns.models import CampaignRun, Delivery

PLATFORMS = ("ios", "android")
# Delivery statuses that have a per-platform counter on the run; `queued_*` is what resolution
# queued at creation (rows move on from queued), so it is not part of the invariant.
COUNTED_STATUSES = ("sent", "failed", "token_invalid", "skipped")
OPEN_WORK = ("queued", "sending")


def _counter_conditions() -> dict[str, Q]:
    """{counter field: the condition its delivery rows meet}, checked against the model so a
    renamed counter fails loudly instead of being silently skipped."""
    conditions: dict[str, Q] = {"total": Q()}
    for platform in PLATFORMS:
        on = Q(deliveries__platform=platform)
        for status in COUNTED_STATUSES:
            conditions[f"{status}_{platform}"] = on & Q(deliveries__status=status)
        conditions[f"received_{platform}"] = on & Q(deliveries__received_at__isnull=False)
        conditions[f"tapped_{platform}"] = on & Q(deliveries__tapped_at__isnull=False)
    for name in conditions:
        CampaignRun._meta.get_field(name)  # FieldDoesNotExist: the ledger changed shape
    return conditions


def runs_counter_drift() -> list[str]:
    """One line per (run, counter) whose stored value differs from the count of its rows."""
    conditions = _counter_conditions()
    annotations = {
        f"rows_{name}": Count("deliveries", filter=condition) if condition else Count("deliveries")
        for name, condition in conditions.items()
    }
    # Retention deletes a run's rows and keeps its counters: a purged run has nothing to
    # compare them with (campaigns.ledger.retention).
    query = (
        CampaignRun.objects.filter(deliveries_purged_at=None)
        .order_by("pk")
        .annotate(**annotations)
        .values("pk", "campaign_id", "kind", "status", *conditions, *annotations)
    )
    with transaction.atomic():
        rows = list(query)  # one statement: one snapshot
    drift = []
    for row in rows:
        for name in conditions:
            stored, counted = row[name], row[f"rows_{name}"]
            if stored != counted:
                drift.append(
                    f"run {row['pk']} ({row['kind']} of campaign {row['campaign_id']}, "
                    f"{row['status']}): {name}={stored} but {counted} delivery rows"
                )
    return drift


def runs_open_without_work() -> list[str]:
    """Runs in `sending` with no delivery queued or sending: nothing will ever complete them.

    Resolving (the audience is still being resolved), listening (a trigger stream) and paused
    runs legitimately have no work in flight, so only `sending` is checked."""
    work = Delivery.objects.filter(run_id=OuterRef("pk"), status__in=OPEN_WORK)
    query = (
        CampaignRun.objects.filter(status="sending")
        .filter(~Exists(work))
        .order_by("pk")
        .values("pk", "campaign_id", "kind")
        .annotate(rows=Count("deliveries"))
    )
    with transaction.atomic():
        rows = list(query)
    return [
        f"run {row['pk']} ({row['kind']} of campaign {row['campaign_id']}) is sending with "
        f"nothing queued or sending ({row['rows']} delivery rows, all terminal)"
        for row in rows
    ]
