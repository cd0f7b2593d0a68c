"""What the in-app pages draw on top of inapp.selectors.dashboard: the editor's live audience
count, the dashboard's per-minute charts (a demo's minutes would be one point on the
selector's daily series), and the CSV export as text. Aggregate queries only: nothing grows
with the number of events in Python but the chart's minutes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.db.models.functions.datetime import TruncBase
from django.utils.translation import gettext as _

from campaigns.audience import audience_devices
from devices.models import MobileApp
from inapp.models import InAppCampaign, InAppEvent
from inapp.selectors.dashboard import campaign_events_csv_rows, campaign_figures

PLATFORMS = ("ios", "android")


def inapp_audience_count(*, app: MobileApp, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Matched devices, and those an in-app message can reach: opened at least once (push
    permission and tokens do not matter inside the app), the rule of "what should I show
    now?" and of the dashboard's eligible devices. One query."""
    reachable = Q(first_opened_at__isnull=False)
    figures = audience_devices(app_id=app.pk, rows=rows).aggregate(
        matched=Count("id"),
        eligible=Count("id", filter=reachable),
        leads=Count("lead_id", filter=reachable, distinct=True),
        never_opened=Count("id", filter=Q(first_opened_at__isnull=True)),
    )
    return {
        "matched_devices": figures["matched"],
        "eligible_devices": figures["eligible"],
        "eligible_leads": figures["leads"],
        "excluded": {
            "never_opened": {
                "count": figures["never_opened"],
                "label": _("never opened the app (the SDK starts on the first open)"),
            },
        },
    }


@dataclass(frozen=True)
class ChartUnit:
    seconds: int
    trunc: type[TruncBase]
    short: str
    name: str
    x_label: str


def _units() -> list[ChartUnit]:
    return [
        ChartUnit(60, TruncMinute, "min", _("Minute"), _("Minutes since the first impression")),
        ChartUnit(3600, TruncHour, "h", _("Hour"), _("Hours since the first impression")),
        ChartUnit(86400, TruncDay, "d", _("Day"), _("Days since the first impression")),
    ]


# The finest unit with at most this many slots: minutes up to 4 hours of events, hours up to
# 10 days, days beyond (a bar chart of thousands of slots reads as noise).
MAX_SLOTS = 240


def _unit_for(campaign: InAppCampaign) -> ChartUnit:
    span = InAppEvent.objects.filter(campaign=campaign).aggregate(
        first=Min("occurred_at"), last=Max("occurred_at")
    )
    units = _units()
    if span["first"] is None:
        return units[0]
    seconds = (span["last"] - span["first"]).total_seconds()
    return next((u for u in units if seconds / u.seconds <= MAX_SLOTS), units[-1])


def _series(campaign: InAppCampaign, kind: str, unit: ChartUnit) -> list[tuple[Any, str, int]]:
    return list(
        InAppEvent.objects.filter(campaign=campaign, kind=kind)
        .annotate(bucket=unit.trunc("occurred_at"))
        .values_list("bucket", "platform")
        .annotate(n=Count("id"))
        .order_by("bucket")
    )


def _chart(
    key: str, title: str, rows: list[tuple[Any, str, int]], start: Any, unit: ChartUnit
) -> dict[str, Any]:
    buckets: dict[int, dict[str, int]] = {}
    for bucket, platform, count in rows:
        offset = round((bucket - start).total_seconds() / unit.seconds)
        buckets.setdefault(offset, {p: 0 for p in PLATFORMS})[platform] = count
    x = sorted(buckets)
    return {
        "key": key,
        "title": title,
        "x": x,
        "unit": unit.short,
        "unit_name": unit.name,
        "x_label": unit.x_label,
        "y_label": title,
        "series": [
            {"label": "iOS", "values": [buckets[i]["ios"] for i in x]},
            {"label": "Android", "values": [buckets[i]["android"] for i in x]},
        ],
        "rows": [[i, buckets[i]["ios"], buckets[i]["android"]] for i in x],
    }


def inapp_campaign_dashboard(*, campaign: InAppCampaign) -> dict[str, Any]:
    """The page's figures (inapp.selectors.dashboard) and its charts, in minutes, hours or
    days since the first impression, whichever keeps the chart readable."""
    unit = _unit_for(campaign)
    impressions = _series(campaign, InAppEvent.Kind.IMPRESSION, unit)
    taps = _series(campaign, InAppEvent.Kind.TAP, unit)
    # Both charts count from the first bucket of either, so their x axes line up.
    starts = [rows[0][0] for rows in (impressions, taps) if rows]
    start = min(starts) if starts else None
    return {
        "figures": campaign_figures(campaign=campaign).as_dict(),
        "charts": [
            _chart("impressions", _("Impressions over time"), impressions, start, unit),
            _chart("taps", _("Taps over time"), taps, start, unit),
        ],
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def inapp_campaign_events_csv(*, campaign: InAppCampaign) -> Iterator[str]:
    """The selector's rows as CSV text, streamed."""
    writer = csv.writer(_Echo())
    for row in campaign_events_csv_rows(campaign=campaign):
        yield writer.writerow(row)
