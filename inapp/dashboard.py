"""What the in-app pages draw on top of inapp.selectors.dashboard: the editor's live audience
count, the dashboard's per-minute charts (a demo's minutes would be one point on the
selector's daily series), and the CSV export as text. Aggregate queries only: nothing grows
with the number of events in Python but the chart's minutes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMinute
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


def _series(campaign: InAppCampaign, kind: str) -> list[tuple[Any, str, int]]:
    return list(
        InAppEvent.objects.filter(campaign=campaign, kind=kind)
        .annotate(minute=TruncMinute("occurred_at"))
        .values_list("minute", "platform")
        .annotate(n=Count("id"))
        .order_by("minute")
    )


def _chart(key: str, title: str, rows: list[tuple[Any, str, int]], start: Any) -> dict[str, Any]:
    buckets: dict[int, dict[str, int]] = {}
    for minute, platform, count in rows:
        offset = int((minute - start).total_seconds() // 60)
        buckets.setdefault(offset, {p: 0 for p in PLATFORMS})[platform] = count
    x = sorted(buckets)
    return {
        "key": key,
        "title": title,
        "x": x,
        "unit": "min",
        "unit_name": _("Minute"),
        "x_label": _("Minutes since the first impression"),
        "y_label": title,
        "series": [
            {"label": "iOS", "values": [buckets[i]["ios"] for i in x]},
            {"label": "Android", "values": [buckets[i]["android"] for i in x]},
        ],
        "rows": [[i, buckets[i]["ios"], buckets[i]["android"]] for i in x],
    }


def inapp_campaign_dashboard(*, campaign: InAppCampaign) -> dict[str, Any]:
    """The page's figures (inapp.selectors.dashboard) and its per-minute charts."""
    impressions = _series(campaign, InAppEvent.Kind.IMPRESSION)
    taps = _series(campaign, InAppEvent.Kind.TAP)
    starts = [rows[0][0] for rows in (impressions, taps) if rows]
    start = min(starts) if starts else None
    return {
        "figures": campaign_figures(campaign=campaign).as_dict(),
        "charts": [
            _chart("impressions", _("Impressions over time"), impressions, start),
            _chart("taps", _("Taps over time"), taps, start),
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
