"""Freshly inserted rows of a run, before it is dispatched: frequency caps and send times.

Over-cap leads' rows become `skipped: frequency_cap` (one UPDATE); send times are planned per
time zone (one UPDATE per distinct zone of the run, computed with zoneinfo so DST is exact on
both databases)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from campaigns.models import CampaignRun, Delivery
from campaigns.qualification import capped_leads, planned_send_at, valid_zones


@dataclass(frozen=True)
class LocalSchedule:
    day: dt.date
    at: dt.time


def deliveries_skip_capped(*, run: CampaignRun, cap: dict[str, Any], now: dt.datetime) -> int:
    capped = capped_leads(cap, now=now)
    if capped is None:
        return 0
    return Delivery.objects.filter(
        run=run, status=Delivery.Status.QUEUED, lead_id__in=capped
    ).update(status=Delivery.Status.SKIPPED, reason="frequency_cap")


def deliveries_plan_times(
    *,
    run: CampaignRun,
    quiet: dict[str, str],
    local: LocalSchedule | None,
    now: dt.datetime,
) -> int:
    """Set `not_before` per time zone; returns the number of UPDATE statements issued."""
    if not quiet and local is None:
        return 0
    queued = Delivery.objects.filter(run=run, status=Delivery.Status.QUEUED)
    zones = set(queued.values_list("device__time_zone", flat=True).distinct())
    known = valid_zones()
    statements = 0
    groups: list[tuple[str | None, Q]] = [(z, Q(device__time_zone=z)) for z in zones if z in known]
    if any(z not in known for z in zones):
        # No or unknown zone: planned in UTC (the app default), stated in the UI.
        groups.append((None, ~Q(device__time_zone__in=[z for z in zones if z in known])))
    for zone_name, condition in groups:
        send_at = planned_send_at(
            zone_name=zone_name,
            now=now,
            quiet=quiet,
            local_day=local.day if local else None,
            local_at=local.at if local else None,
        )
        if send_at is not None:
            queued.filter(condition).update(not_before=send_at)
            statements += 1
    return statements
