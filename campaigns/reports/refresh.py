"""Compute a run's RunReport: the aggregates that need a pass over its deliveries.

Run by a periodic task for runs that are sending or ended recently, never in a request. Each
figure is one GROUP BY over the (run, status) index, so a 1M-delivery run costs a few
aggregate queries every refresh, not a count per dashboard view."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery, RunReport

# The dashboard keeps at most this many points per series (one per minute of sending).
MAX_SERIES_POINTS = 24 * 60


def _by_reason(run: CampaignRun, status: str) -> dict[str, int]:
    rows = (
        Delivery.objects.filter(run=run, status=status)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {row["reason"] or "unknown": row["n"] for row in rows}


def _series(run: CampaignRun, *, trunc: type, field: str, step: timedelta) -> list[list[int]]:
    origin = Delivery.objects.filter(run=run, status=Delivery.Status.SENT).aggregate(
        first=Min("sent_at")
    )["first"]
    if origin is None:
        return []
    rows = (
        Delivery.objects.filter(run=run, **{f"{field}__isnull": False})
        .annotate(bucket=trunc(field))
        .values("bucket", "platform")
        .annotate(n=Count("id"))
    )
    start = origin.replace(second=0, microsecond=0)
    if step >= timedelta(hours=1):
        start = start.replace(minute=0)
    buckets: dict[int, list[int]] = {}
    for row in rows:
        offset = max(0, int((row["bucket"] - start) / step))
        if offset >= MAX_SERIES_POINTS:
            continue
        counts = buckets.setdefault(offset, [0, 0])
        counts[0 if row["platform"] == "ios" else 1] += row["n"]
    return [[offset, *counts] for offset, counts in sorted(buckets.items())]


def run_report_refresh(*, run_id: int) -> RunReport:
    run = CampaignRun.objects.get(pk=run_id)
    unique_leads = (
        Delivery.objects.filter(run=run, status=Delivery.Status.SENT)
        .exclude(lead_id=None)
        .aggregate(n=Count("lead_id", distinct=True))["n"]
    )
    report, _ = RunReport.objects.update_or_create(
        run=run,
        defaults={
            "computed_at": timezone.now(),
            "unique_leads_sent": unique_leads or 0,
            "failed_by_reason": _by_reason(run, Delivery.Status.FAILED),
            "skipped_by_reason": _by_reason(run, Delivery.Status.SKIPPED),
            "sends_over_time": _series(
                run, trunc=TruncMinute, field="sent_at", step=timedelta(minutes=1)
            ),
            "tap_decay": _series(run, trunc=TruncHour, field="tapped_at", step=timedelta(hours=1)),
        },
    )
    return report


def runs_needing_report(
    *, now: datetime | None = None, stale_after: timedelta = timedelta(seconds=20)
) -> list[int]:
    """Runs sending now, or ended in the last 15 minutes, whose report is missing or stale."""
    now = now or timezone.now()
    recent = Q(status__in=[CampaignRun.Status.SENDING, CampaignRun.Status.LISTENING]) | Q(
        finished_at__gte=now - timedelta(minutes=15)
    )
    fresh = Q(report__computed_at__gte=now - stale_after)
    ended_and_reported = Q(finished_at__isnull=False, report__computed_at__gt=F("finished_at"))
    return list(
        CampaignRun.objects.filter(recent)
        .exclude(fresh)
        .exclude(ended_and_reported)
        .values_list("id", flat=True)[:50]
    )
