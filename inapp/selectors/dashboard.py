"""The In-App dashboard: per campaign, eligible devices, impressions, unique viewers, taps per
button, tap-through rate and dismissals, per platform and over time; and the CSV rows.

Counted from InAppEvent with a few GROUP BY statements (the campaign_kind index), never by
loading events into Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from campaigns.audience import AudienceError, audience_q
from devices.models import Device, Platform
from inapp.models import InAppCampaign, InAppEvent, InAppMessage

PLATFORMS = (Platform.IOS.value, Platform.ANDROID.value)
Kind = InAppEvent.Kind
CSV_HEADER = [
    "occurred_at",
    "event",
    "target",
    "platform",
    "installation_id",
    "lead_email",
    "campaign",
    "message",
]


@dataclass
class PlatformFigures:
    eligible_devices: int = 0
    impressions: int = 0
    unique_viewers: int = 0
    taps: int = 0
    unique_tappers: int = 0
    dismissals: int = 0
    taps_by_target: dict[str, int] = field(default_factory=dict)

    @property
    def tap_through_rate(self) -> float | None:
        """Percent of viewers who tapped (None before anyone saw it)."""
        if not self.unique_viewers:
            return None
        return round(100.0 * self.unique_tappers / self.unique_viewers, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible_devices": self.eligible_devices,
            "impressions": self.impressions,
            "unique_viewers": self.unique_viewers,
            "taps": self.taps,
            "unique_tappers": self.unique_tappers,
            "dismissals": self.dismissals,
            "taps_by_target": dict(sorted(self.taps_by_target.items())),
            "tap_through_rate_percent": self.tap_through_rate,
        }


@dataclass
class CampaignFigures:
    by_platform: dict[str, PlatformFigures]
    # [(day, impressions, taps, dismissals)], oldest first, days with events only.
    daily: list[tuple[dt.date, int, int, int]]

    @property
    def total(self) -> PlatformFigures:
        total = PlatformFigures()
        for figures in self.by_platform.values():
            for name in (
                "eligible_devices",
                "impressions",
                "unique_viewers",
                "taps",
                "unique_tappers",
                "dismissals",
            ):
                setattr(total, name, getattr(total, name) + getattr(figures, name))
            for target, count in figures.taps_by_target.items():
                total.taps_by_target[target] = total.taps_by_target.get(target, 0) + count
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            **{platform: self.by_platform[platform].as_dict() for platform in PLATFORMS},
            "all": self.total.as_dict(),
            "daily": [
                {"day": day.isoformat(), "impressions": i, "taps": t, "dismissals": d}
                for day, i, t, d in self.daily
            ],
        }


def campaign_audience_devices(campaign: InAppCampaign) -> QuerySet[Device]:
    """Devices the campaign can show to: the app's, opened at least once, in the audience."""
    devices = Device.objects.filter(app_id=campaign.app_id, first_opened_at__isnull=False)
    try:
        return devices.filter(audience_q(campaign.audience or []))
    except AudienceError:
        return devices.none()


def campaign_figures(*, campaign: InAppCampaign) -> CampaignFigures:
    by_platform = {platform: PlatformFigures() for platform in PLATFORMS}
    eligible = campaign_audience_devices(campaign).values("platform").annotate(n=Count("id"))
    for counted in eligible:
        by_platform[counted["platform"]].eligible_devices = counted["n"]
    events = InAppEvent.objects.filter(campaign_id=campaign.pk)
    for row in events.values("platform", "kind").annotate(
        n=Count("id"), devices=Count("device_id", distinct=True)
    ):
        figures = by_platform[row["platform"]]
        if row["kind"] == Kind.IMPRESSION:
            figures.impressions, figures.unique_viewers = row["n"], row["devices"]
        elif row["kind"] == Kind.TAP:
            figures.taps, figures.unique_tappers = row["n"], row["devices"]
        else:
            figures.dismissals = row["n"]
    taps = events.filter(kind=Kind.TAP).values("platform", "target").annotate(n=Count("id"))
    for tapped in taps:
        by_platform[tapped["platform"]].taps_by_target[tapped["target"]] = tapped["n"]
    days: dict[dt.date, list[int]] = {}
    for per_day in (
        events.annotate(day=TruncDate("occurred_at")).values("day", "kind").annotate(n=Count("id"))
    ):
        counts = days.setdefault(per_day["day"], [0, 0, 0])
        counts[(Kind.IMPRESSION, Kind.TAP, Kind.DISMISS).index(per_day["kind"])] = per_day["n"]
    daily = [
        (day, shown, tapped, dismissed) for day, (shown, tapped, dismissed) in sorted(days.items())
    ]
    return CampaignFigures(by_platform=by_platform, daily=daily)


def campaign_events_csv_rows(*, campaign: InAppCampaign) -> Iterator[list[str]]:
    """The header, then one row per event, oldest first (streamed: no list in memory)."""
    yield CSV_HEADER
    events = (
        InAppEvent.objects.filter(campaign_id=campaign.pk)
        .select_related("device", "lead", "message")
        .order_by("occurred_at", "id")
    )
    for event in events.iterator(chunk_size=2000):
        yield [
            event.occurred_at.isoformat(),
            event.kind,
            event.target,
            event.platform,
            event.device.installation_id,
            event.lead.email if event.lead is not None else "",
            campaign.name,
            event.message.name,
        ]


def campaigns_for_app(*, app_id: int | None = None) -> QuerySet[InAppCampaign]:
    campaigns = InAppCampaign.objects.select_related("app", "message")
    return campaigns if app_id is None else campaigns.filter(app_id=app_id)


def messages_for_app(*, app_id: int | None = None) -> QuerySet[InAppMessage]:
    messages = InAppMessage.objects.select_related("app")
    return messages if app_id is None else messages.filter(app_id=app_id)
