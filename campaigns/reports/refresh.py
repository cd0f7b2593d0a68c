"""Compute a run's RunReport: the aggregates that need a pass over its deliveries.

Run by a periodic task for runs that are sending or ended recently, never in a request. Each
figure is one GROUP BY over the (run, status) index, so a 1M-delivery run costs a few
aggregate queries every refresh, not a count per dashboard view."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Count, F, Max, Min, Q
from django.db.models.functions import TruncHour, TruncMinute, TruncSecond
from django.utils import timezone

from campaigns.abtest.rows import HELD_OUT
from campaigns.models import CampaignRun, Delivery, RunReport

# The dashboard keeps at most this many points per series.
MAX_SERIES_POINTS = 24 * 60


class Resolution(NamedTuple):
    unit: str
    trunc: type
    step: timedelta


SECONDS = Resolution(RunReport.Unit.SECOND, TruncSecond, timedelta(seconds=1))
MINUTES = Resolution(RunReport.Unit.MINUTE, TruncMinute, timedelta(minutes=1))
HOURS = Resolution(RunReport.Unit.HOUR, TruncHour, timedelta(hours=1))


# A span shorter than this is charted in seconds (at most 180 points).
SECONDS_UP_TO = timedelta(minutes=3)


def resolution_for(span: timedelta, *, max_minutes: int) -> Resolution:
    """Seconds for a span under 3 minutes, minutes under `max_minutes`, else hours: a
    40-second run is not one "0 min" block, and a day-long one is not 1,440 slivers."""
    if span < SECONDS_UP_TO:
        return SECONDS
    if span < MINUTES.step * max_minutes:
        return MINUTES
    return HOURS


def _by_reason(run: CampaignRun, status: str) -> dict[str, int]:
    rows = (
        Delivery.objects.filter(run=run, status=status)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {row["reason"] or "unknown": row["n"] for row in rows}


def _bucket_start(origin: datetime, step: timedelta) -> datetime:
    start = origin.replace(microsecond=0)
    if step >= timedelta(minutes=1):
        start = start.replace(second=0)
    if step >= timedelta(hours=1):
        start = start.replace(minute=0)
    return start


def _series(
    run: CampaignRun, *, field: str, origin: datetime | None, max_minutes: int
) -> tuple[list[list[int]], str]:
    """[[offset, ios, android], ...] of `field` counted from the run's first send, at the
    resolution that fits the span from that send to the latest `field`; and that unit."""
    if origin is None:
        return [], MINUTES.unit
    last = Delivery.objects.filter(run=run).aggregate(last=Max(field))["last"]
    if last is None:
        return [], MINUTES.unit
    resolution = resolution_for(last - origin, max_minutes=max_minutes)
    rows = (
        Delivery.objects.filter(run=run, **{f"{field}__isnull": False})
        .annotate(bucket=resolution.trunc(field))
        .values("bucket", "platform")
        .annotate(n=Count("id"))
    )
    start = _bucket_start(origin, resolution.step)
    buckets: dict[int, list[int]] = {}
    for row in rows:
        offset = max(0, int((row["bucket"] - start) / resolution.step))
        if offset >= MAX_SERIES_POINTS:
            continue
        counts = buckets.setdefault(offset, [0, 0])
        counts[0 if row["platform"] == "ios" else 1] += row["n"]
    return [[offset, *counts] for offset, counts in sorted(buckets.items())], resolution.unit


def _by_variant(run: CampaignRun) -> dict[str, dict[str, int]]:
    """Per A/B variant: rows, sent, received, tapped and held out (one GROUP BY)."""
    if not run.variants and not run.ab_winner:
        return {}
    rows = (
        Delivery.objects.filter(run=run)
        .exclude(variant="")
        .values("variant")
        .annotate(
            deliveries=Count("id"),
            sent=Count("id", filter=Q(status=Delivery.Status.SENT)),
            received=Count("id", filter=Q(received_at__isnull=False)),
            tapped=Count("id", filter=Q(tapped_at__isnull=False)),
            held_out=Count("id", filter=Q(status=Delivery.Status.SKIPPED, reason=HELD_OUT)),
        )
        .order_by("variant")
    )
    return {
        row["variant"]: {
            "deliveries": row["deliveries"],
            "sent": row["sent"],
            "received": row["received"],
            "tapped": row["tapped"],
            "held_out": row["held_out"],
        }
        for row in rows
    }


def run_report_refresh(*, run_id: int) -> RunReport:
    """Compute the run's report from its rows. A purged run's report is the record of rows
    that are gone (retention marks a run only once its report is final): it is returned as
    it is."""
    run = CampaignRun.objects.get(pk=run_id)
    if run.deliveries_purged_at is not None:
        return RunReport.objects.get(run=run)
    unique_leads = (
        Delivery.objects.filter(run=run, status=Delivery.Status.SENT)
        .exclude(lead_id=None)
        .aggregate(n=Count("lead_id", distinct=True))["n"]
    )
    origin = Delivery.objects.filter(run=run, status=Delivery.Status.SENT).aggregate(
        first=Min("sent_at")
    )["first"]
    # Sends: seconds for up to 3 minutes, minutes for up to a day. Taps: up to 3 hours in
    # minutes, then hours (a tap decay is read in hours after the send).
    sends, sends_unit = _series(run, field="sent_at", origin=origin, max_minutes=24 * 60)
    taps, taps_unit = _series(run, field="tapped_at", origin=origin, max_minutes=3 * 60)
    report, _ = RunReport.objects.update_or_create(
        run=run,
        defaults={
            "computed_at": timezone.now(),
            "unique_leads_sent": unique_leads or 0,
            "failed_by_reason": _by_reason(run, Delivery.Status.FAILED),
            "skipped_by_reason": _by_reason(run, Delivery.Status.SKIPPED),
            "sends_over_time": sends,
            "sends_unit": sends_unit,
            "tap_decay": taps,
            "tap_decay_unit": taps_unit,
            "by_variant": _by_variant(run),
        },
    )
    return report


def runs_needing_report(
    *, now: datetime | None = None, stale_after: timedelta = timedelta(seconds=20)
) -> list[int]:
    """Runs sending now, ended in the last 15 minutes, or with feedback newer than their report,
    whose report is missing or stale."""
    now = now or timezone.now()
    recent = Q(status__in=[CampaignRun.Status.SENDING, CampaignRun.Status.LISTENING]) | Q(
        finished_at__gte=now - timedelta(minutes=15)
    )
    fresh = Q(report__computed_at__gte=now - stale_after)
    ended_and_reported = Q(finished_at__isnull=False, report__computed_at__gt=F("finished_at"))
    # Taps keep coming after a run ends: a report the feedback has moved past is due again.
    behind_feedback = Q(report__feedback_at__gt=F("report__computed_at"))
    due = (recent & ~ended_and_reported) | behind_feedback
    runs = CampaignRun.objects.filter(due, deliveries_purged_at=None).exclude(fresh)
    return list(runs.values_list("id", flat=True)[:50])
