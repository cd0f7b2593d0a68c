"""Trigger campaigns: "when a device does X, send Y".

`triggers_evaluate(activity_ids)` runs right after the SDK API records activities. It loads
the activities (1 query) and the active trigger campaigns listening for those kinds (1 query);
then per matching campaign ONE audience query restricted to the activities' devices (filters,
eligibility, platforms and the qualification rule as EXISTS), one cap query, one INSERT.

Runs and the "one delivery per device per run" rule: each activation opens one long-lived
trigger run and a device's first fire lands there. A later fire of the same device (allowed by
"every time" or "once per N") would collide with unique (run, device), so such fires go to a
fresh trigger run created for that evaluation (one per "round": the second fire of several
devices in one batch shares one run). The INSERT returns the rows it wrote (ON CONFLICT DO
NOTHING RETURNING), so a concurrent evaluation racing for the same device loses nothing: its
conflicting fire moves on to a fresh run. Every qualifying activity therefore fires exactly
once, while the unique constraint the engine relies on stays intact. Campaign totals sum runs.

Qualification under concurrency: for "once"/"once per N" the evaluation first takes a
transaction-scoped lock per (campaign, lead), so two activities of one person evaluated at the
same moment by two workers cannot both pass the rule.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.qualification import (
    RuleError,
    already_qualified_q,
    capped_leads,
    planned_send_at,
)
from devices.models import DeviceActivity
from pushmarketing.core.addons import mobile_push_enabled

logger = logging.getLogger(__name__)

TRIGGER_EVENTS: dict[str, str] = {
    DeviceActivity.Kind.INSTALLED: "Mobile app is installed (first open)",
    DeviceActivity.Kind.OPENED: "Mobile app is opened",
    DeviceActivity.Kind.CUSTOM_ACTION: "Has mobile app activity",
    DeviceActivity.Kind.SESSION: "Has mobile app session",
    DeviceActivity.Kind.PUSH_TAPPED: "Taps push notification",
    DeviceActivity.Kind.PUSH_REGISTERED: "Registers for push",
}
ACTIVITY_CONSTRAINTS = ("action_name", "action_type", "details")


def validate_trigger(trigger: Any) -> dict[str, Any]:
    if not isinstance(trigger, dict) or not trigger.get("event"):
        raise RuleError("trigger.event", "is required")
    event = trigger["event"]
    if event not in TRIGGER_EVENTS:
        raise RuleError("trigger.event", f"must be one of: {', '.join(TRIGGER_EVENTS)}")
    out: dict[str, Any] = {"event": event}
    if event == DeviceActivity.Kind.CUSTOM_ACTION:
        for key in ACTIVITY_CONSTRAINTS:
            value = trigger.get(key) or ""
            limit = 19 if key == "action_name" else 255
            if not isinstance(value, str) or len(value) > limit:
                raise RuleError(f"trigger.{key}", f"must be text up to {limit} characters")
            if value.strip():
                out[key] = value.strip()
    if event == DeviceActivity.Kind.PUSH_TAPPED and trigger.get("notification_id") not in (
        None,
        "",
    ):
        value = trigger["notification_id"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError("trigger.notification_id", "must be a push id")
        out["notification_id"] = value
    return out


@dataclass
class Fire:
    activity_id: int
    device_id: int
    lead_id: int
    platform: str
    status: str
    reason: str
    not_before: dt.datetime | None


def _activity_matches(activity: dict[str, Any], trigger: dict[str, Any], tapped: dict) -> bool:
    if activity["kind"] != trigger["event"]:
        return False
    for key in ACTIVITY_CONSTRAINTS:
        if key in trigger and (activity[key] or "").lower() != trigger[key].lower():
            return False
    wanted = trigger.get("notification_id")
    return wanted is None or tapped.get(activity["delivery_id"]) == wanted


def _tapped_notifications(activities: list[dict[str, Any]]) -> dict[int, int]:
    delivery_ids = [
        a["delivery_id"]
        for a in activities
        if a["kind"] == DeviceActivity.Kind.PUSH_TAPPED and a["delivery_id"]
    ]
    if not delivery_ids:
        return {}
    return dict(
        Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "run__notification_id")
    )


def _fires_for(
    campaign: Campaign, activities: list[dict[str, Any]], *, now: dt.datetime
) -> list[Fire]:
    from campaigns.selectors import notification_platforms, sendable_devices

    device_ids = {a["device_id"] for a in activities}
    audience = sendable_devices(
        app_id=campaign.app_id,
        rows=campaign.audience,
        platforms=notification_platforms(campaign.notification),
    ).filter(id__in=device_ids)
    disqualified = already_qualified_q(campaign, now=now)
    if disqualified is not None:
        audience = audience.exclude(disqualified)
    devices = {
        pk: (lead_id, platform, zone)
        for pk, lead_id, platform, zone in audience.values_list(
            "id", "lead_id", "platform", "time_zone"
        )
    }
    capped: set[int] = set()
    cap_query = capped_leads(campaign.frequency_cap, now=now)
    if cap_query is not None and devices:
        capped = set(
            cap_query.filter(lead_id__in={v[0] for v in devices.values()}).values_list(
                "lead_id", flat=True
            )
        )
    fires, seen_leads = [], set()
    for activity in activities:
        device = devices.get(activity["device_id"])
        if device is None:
            continue
        lead_id, platform, zone = device
        if campaign.qualification != Campaign.Qualification.EVERY_TIME:
            if lead_id in seen_leads:  # once per lead, also within one batch
                continue
            seen_leads.add(lead_id)
        is_capped = lead_id in capped
        fires.append(
            Fire(
                activity_id=activity["id"],
                device_id=activity["device_id"],
                lead_id=lead_id,
                platform=platform,
                status=Delivery.Status.SKIPPED if is_capped else Delivery.Status.QUEUED,
                reason="frequency_cap" if is_capped else "",
                not_before=None
                if is_capped
                else planned_send_at(zone_name=zone, now=now, quiet=campaign.quiet_hours),
            )
        )
    return fires


def _insert_returning(run_id: int, fires: list[Fire], now: dt.datetime) -> set[int]:
    """Insert fires into a run; return the device ids actually written (conflicts skipped)."""
    if not fires:
        return set()
    adapt = connection.ops.adapt_datetimefield_value
    columns = (
        "run_id, device_id, lead_id, platform, status, reason, attempts, provider_id, "
        "created_at, not_before"
    )
    values, params = [], []
    for fire in fires:
        values.append("(%s, %s, %s, %s, %s, %s, 0, '', %s, %s)")
        params += [
            run_id,
            fire.device_id,
            fire.lead_id,
            fire.platform,
            fire.status,
            fire.reason,
            adapt(now),
            adapt(fire.not_before) if fire.not_before else None,
        ]
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} ({columns}) VALUES {', '.join(values)} "
        "ON CONFLICT (run_id, device_id) DO NOTHING RETURNING device_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _count(run_id: int, fires: list[Fire]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for fire in fires:
        counts[f"{fire.status}_{fire.platform}"] += 1
    CampaignRun.objects.filter(pk=run_id).update(
        total=F("total") + len(fires),
        **{key: F(key) + n for key, n in counts.items()},
    )
    # The engine completes a trigger run whenever it drains; new fires reopen it.
    CampaignRun.objects.filter(pk=run_id, status=CampaignRun.Status.COMPLETED).update(
        status=CampaignRun.Status.SENDING, finished_at=None
    )


def _fresh_run(campaign: Campaign) -> CampaignRun:
    return CampaignRun.objects.create(
        kind=CampaignRun.Kind.TRIGGER,
        status=CampaignRun.Status.SENDING,
        campaign=campaign,
        notification_id=campaign.notification_id,
        app_id=campaign.app_id,
        content=campaign.notification.approved_content,
        started_at=timezone.now(),
    )


def _place(
    campaign: Campaign, run_id: int | None, fires: list[Fire], now: dt.datetime
) -> list[int]:
    """Put fires into the activation run, overflow into fresh runs; return the run ids used.
    Qualification was checked under the lead lock, so a collision here means the device's
    earlier row did not count (failed, skipped): the fire is due and goes to a fresh run."""
    used = []
    pending = fires
    target = run_id
    while pending:
        if target is None:
            target = _fresh_run(campaign).pk
        round_fires, later, round_devices = [], [], set()
        for fire in pending:
            (later if fire.device_id in round_devices else round_fires).append(fire)
            round_devices.add(fire.device_id)
        written = _insert_returning(target, round_fires, now)
        placed = [f for f in round_fires if f.device_id in written]
        if placed:
            _count(target, placed)
            used.append(target)
        pending = [f for f in round_fires if f.device_id not in written] + later
        target = None
    return used


def _lock_leads(campaign_id: int, lead_ids: set[int]) -> None:
    """Serialize evaluations of one campaign for the same lead until this transaction ends,
    so two concurrent activities cannot both pass a "once" rule (PostgreSQL advisory locks,
    taken in one sorted statement so two evaluations never deadlock). SQLite needs nothing:
    its transactions take the write lock at BEGIN (transaction_mode IMMEDIATE)."""
    if not lead_ids or connection.vendor != "postgresql":
        return
    keys = sorted(f"campaign-lead:{campaign_id}:{lead_id}" for lead_id in lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
            "FROM unnest(%s::text[]) AS k ORDER BY k",
            [keys],
        )


def triggers_evaluate(*, activity_ids: list[int]) -> int:
    """Fire the active trigger campaigns matching these activities. Returns deliveries made."""
    activities = list(
        DeviceActivity.objects.filter(pk__in=activity_ids)
        .order_by("id")
        .values(
            "id",
            "app_id",
            "device_id",
            "kind",
            "delivery_id",
            *ACTIVITY_CONSTRAINTS,
            device_lead_id=F("device__lead_id"),
        )
    )
    if not activities or not mobile_push_enabled():
        return 0
    campaigns = list(
        Campaign.objects.filter(
            kind=Campaign.Kind.TRIGGER,
            status=Campaign.Status.ACTIVE,
            app_id__in={a["app_id"] for a in activities},
            trigger__event__in=list({a["kind"] for a in activities}),
        ).select_related("notification")
    )
    if not campaigns:
        return 0
    tapped = _tapped_notifications(activities)
    now = timezone.now()
    made = 0
    for campaign in campaigns:
        if not campaign.notification.approved_content:
            continue
        matching = [
            a
            for a in activities
            if a["app_id"] == campaign.app_id and _activity_matches(a, campaign.trigger, tapped)
        ]
        if matching:
            made += _campaign_fire(campaign, matching, now=now)
    return made


@transaction.atomic
def _campaign_fire(
    campaign: Campaign, activities: list[dict[str, Any]], *, now: dt.datetime
) -> int:
    from campaigns.services import run_dispatch

    if campaign.qualification != Campaign.Qualification.EVERY_TIME:
        _lock_leads(campaign.pk, {a["device_lead_id"] for a in activities if a["device_lead_id"]})
    fires = _fires_for(campaign, activities, now=now)
    if not fires:
        return 0
    activation = (
        CampaignRun.objects.filter(campaign=campaign, kind=CampaignRun.Kind.TRIGGER)
        .exclude(status=CampaignRun.Status.CANCELLED)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    for run_id in _place(campaign, activation, fires, now):
        run_dispatch(run_id=run_id, queue="send")
    logger.info(
        "campaigns: trigger campaign %s fired %s delivery(ies) for %s activity(ies)",
        campaign.pk,
        len(fires),
        len(activities),
    )
    return len(fires)
