"""Reads for the in-app campaign dashboard and its CSV export (the UI's; the SDK's reads are
in inapp.selectors).

Figures per platform: eligible devices (the audience an in-app message can reach now),
impressions, unique viewers, taps per target (button1, button2, text, image, background),
tap-through rate (devices that tapped / devices that saw it), dismissals; and impressions and
taps per minute since the first impression for the charts. Three aggregate queries whatever
the number of events; the export streams one row per event."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMinute
from django.utils.translation import gettext as _

from campaigns.audience import audience_devices
from devices.models import Device, MobileApp
from inapp.models import TAP_TARGETS, InAppCampaign, InAppEvent

PLATFORMS = ("ios", "android")
TAP_TARGET_NAMES = ("button1", "button2", *TAP_TARGETS)
EXPORT_CHUNK = 2000


def inapp_audience_count(*, app: MobileApp, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Matched devices, and those an in-app message can reach: opened at least once and not
    unregistered (push permission and tokens do not matter inside the app). One query."""
    reachable = Q(first_opened_at__isnull=False) & ~Q(status=Device.Status.UNREGISTERED)
    figures = audience_devices(app_id=app.pk, rows=rows).aggregate(
        matched=Count("id"),
        eligible=Count("id", filter=reachable),
        leads=Count("lead_id", filter=reachable, distinct=True),
        never_opened=Count("id", filter=Q(first_opened_at__isnull=True)),
        unregistered=Count(
            "id", filter=Q(first_opened_at__isnull=False, status=Device.Status.UNREGISTERED)
        ),
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
            "unregistered": {
                "count": figures["unregistered"],
                "label": _("the app was uninstalled or the user logged out"),
            },
        },
    }


def _per_platform(campaign: InAppCampaign) -> dict[str, dict[str, Any]]:
    events = InAppEvent.objects.filter(campaign=campaign)
    kind = InAppEvent.Kind
    aggregates: dict[str, Any] = {}
    for platform in PLATFORMS:
        on = Q(platform=platform)
        aggregates[f"{platform}_impressions"] = Count("id", filter=on & Q(kind=kind.IMPRESSION))
        aggregates[f"{platform}_viewers"] = Count(
            "device_id", filter=on & Q(kind=kind.IMPRESSION), distinct=True
        )
        aggregates[f"{platform}_tappers"] = Count(
            "device_id", filter=on & Q(kind=kind.TAP), distinct=True
        )
        aggregates[f"{platform}_dismissals"] = Count("id", filter=on & Q(kind=kind.DISMISS))
        for target in TAP_TARGET_NAMES:
            aggregates[f"{platform}_tap_{target}"] = Count(
                "id", filter=on & Q(kind=kind.TAP, target=target)
            )
    row = events.aggregate(**aggregates)
    out: dict[str, dict[str, Any]] = {}
    for platform in (*PLATFORMS, "total"):
        names = PLATFORMS if platform == "total" else (platform,)

        def total(key: str, names: tuple[str, ...] = names) -> int:
            return sum(row[f"{p}_{key}"] or 0 for p in names)

        viewers = total("viewers")
        taps = {target: total(f"tap_{target}") for target in TAP_TARGET_NAMES}
        out[platform] = {
            "impressions": total("impressions"),
            "viewers": viewers,
            "tappers": total("tappers"),
            "dismissals": total("dismissals"),
            "taps": taps,
            "taps_total": sum(taps.values()),
            "tap_rate_percent": round(100 * total("tappers") / viewers, 1) if viewers else None,
        }
    return out


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
    impressions = _series(campaign, InAppEvent.Kind.IMPRESSION)
    taps = _series(campaign, InAppEvent.Kind.TAP)
    starts = [rows[0][0] for rows in (impressions, taps) if rows]
    start = min(starts) if starts else None
    return {
        "eligible": inapp_audience_count(app=campaign.app, rows=campaign.audience or []),
        "figures": _per_platform(campaign),
        "charts": [
            _chart("impressions", _("Impressions over time"), impressions, start),
            _chart("taps", _("Taps over time"), taps, start),
        ],
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def inapp_campaign_events_csv(*, campaign: InAppCampaign) -> Iterator[str]:
    """One row per event, oldest first, read in chunks (the export never loads them all)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(
        ["occurred_at", "event", "target", "platform", "installation_id", "lead_email"]
    )
    rows = (
        InAppEvent.objects.filter(campaign=campaign)
        .order_by("occurred_at", "id")
        .values_list(
            "occurred_at", "kind", "target", "platform", "device__installation_id", "lead__email"
        )
    )
    for occurred_at, kind, target, platform, installation_id, email in rows.iterator(
        chunk_size=EXPORT_CHUNK
    ):
        yield writer.writerow(
            [occurred_at.isoformat(), kind, target, platform, installation_id, email or ""]
        )
