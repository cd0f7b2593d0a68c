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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.delivery.dispatch import deliveries_dispatch_ids, id_ranges
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.runs import campaign_run_open, run_settle
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.qualification import already_qualified_q, capped_leads, planned_send_at
from campaigns.rules import (
    ACTIVITY_CONSTRAINTS,
    trigger_send_within_minutes,
    trigger_wait_for_lead_minutes,
)
from campaigns.selectors import notification_platforms, sendable_devices
from devices.models import Device, DeviceActivity
from devices.trigger_outbox import waits_add
from pushmarketing.core.addons import mobile_push_enabled

logger = logging.getLogger(__name__)


# Receives (run id, first id, last id) of new rows due now.
SendNow = Callable[[tuple[int, int, int]], None]


@dataclass(frozen=True)
class Fire(NewDelivery):
    activity_id: int = 0


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
    stale_before = now - dt.timedelta(minutes=trigger_send_within_minutes(campaign.trigger))
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
        # Received (not occurred: an offline phone reports late) longer ago than the campaign
        # allows: a "welcome" that would arrive stale is recorded as skipped instead.
        reason = (
            "frequency_cap"
            if lead_id in capped
            else "trigger_stale"
            if activity["created_at"] < stale_before
            else ""
        )
        fires.append(
            Fire(
                activity_id=activity["id"],
                device_id=activity["device_id"],
                lead_id=lead_id,
                platform=platform,
                status=Delivery.Status.SKIPPED if reason else Delivery.Status.QUEUED,
                reason=reason,
                not_before=None
                if reason
                else planned_send_at(zone_name=zone, now=now, quiet=campaign.quiet_hours),
            )
        )
    return fires


def _stream_run(campaign: Campaign, now: dt.datetime) -> CampaignRun:
    """The activation's listening stream (opened again if an older activation left none)."""
    stream = (
        CampaignRun.objects.select_for_update(no_key=True)
        .filter(campaign=campaign, is_stream=True, status=CampaignRun.Status.LISTENING)
        .order_by("-id")
        .first()
    )
    return stream or _new_run(campaign, now, stream=True)


def _new_run(campaign: Campaign, now: dt.datetime, *, stream: bool = False) -> CampaignRun:
    return campaign_run_open(
        campaign=campaign,
        kind=CampaignRun.Kind.TRIGGER,
        status=CampaignRun.Status.LISTENING if stream else CampaignRun.Status.SENDING,
        is_stream=stream,
        now=now,
    )


def _place(
    campaign: Campaign, fires: list[Fire], now: dt.datetime, send_now: SendNow | None
) -> None:
    """Put fires into the stream run, overflow into fresh runs, and dispatch the new rows.
    Qualification was checked under the lead lock, so a collision here means the device's
    earlier row did not count (failed, skipped): the fire is due and goes to a fresh run."""
    pending = fires
    run: CampaignRun | None = _stream_run(campaign, now)
    while pending:
        if run is None:
            run = _new_run(campaign, now)
        round_fires: list[Fire] = []
        later: list[Fire] = []
        round_devices: set[int] = set()
        for fire in pending:
            (later if fire.device_id in round_devices else round_fires).append(fire)
            round_devices.add(fire.device_id)
        written = deliveries_insert_returning(run_id=run.pk, rows=round_fires, now=now)
        _dispatch_new(run, [f for f in round_fires if f.device_id in written], written, send_now)
        run_settle(run=run, now=now)  # an overflow run of capped fires only is done at once
        pending = [f for f in round_fires if f.device_id not in written] + later
        run = None


def _dispatch_new(
    run: CampaignRun, placed: list[Fire], written: dict[int, int], send_now: SendNow | None
) -> None:
    """Only the rows just written are sent (never a re-scan of the run's backlog): due ones
    at once — handed to `send_now` when the caller sends them itself after commit, else
    enqueued — and quiet-hours ones enqueued for their time."""
    by_due: dict[dt.datetime | None, list[int]] = defaultdict(list)
    for fire in placed:
        if fire.status == Delivery.Status.QUEUED:
            by_due[fire.not_before].append(written[fire.device_id])
    for due, ids in by_due.items():
        if due is None and send_now is not None:
            for first, last in id_ranges(ids):
                send_now((run.pk, first, last))
        else:
            deliveries_dispatch_ids(run=run, delivery_ids=ids, due=due)


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


def triggers_evaluate(
    *,
    activity_ids: list[int],
    send_now: SendNow | None = None,
    only_campaign: Mapping[int, int] | None = None,
) -> int:
    """Fire the active trigger campaigns matching these activities. Returns deliveries made.

    Rows due at once go to `send_now` as (run id, first id, last id) ranges when given (the
    trigger pump sends them itself after its commit), else to the send lane as tasks.
    `only_campaign` restricts an activity to one campaign (one that waited for its lead)."""
    only = only_campaign or {}
    activities = list(
        DeviceActivity.objects.filter(pk__in=activity_ids)
        .order_by("id")
        .values(
            "id",
            "app_id",
            "device_id",
            "kind",
            "delivery_id",
            "created_at",
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
        )
        .select_related("notification")
        .order_by("pk")  # one lock order for every evaluation: concurrent pumps never deadlock
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
            if a["app_id"] == campaign.app_id
            and only.get(a["id"], campaign.pk) == campaign.pk
            and _activity_matches(a, campaign.trigger, tapped)
        ]
        if not matching:
            continue
        try:
            made += _campaign_fire(campaign, matching, now=now, send_now=send_now)
        except (DataError, IntegrityError):
            # Deterministic failures: the campaign's savepoint is rolled back and the batch's
            # other campaigns still fire, so one broken campaign cannot wedge the outbox by
            # failing every batch. Transient ones (a deadlock, a lost connection) propagate:
            # the whole batch rolls back into the outbox and the next pump retries it.
            logger.exception("campaigns: trigger campaign %s failed to fire", campaign.pk)
    return made


def _waiting_for_leads_set_aside(
    campaign: Campaign, activities: list[dict[str, Any]], *, now: dt.datetime
) -> list[dict[str, Any]]:
    """A campaign that waits for the lead ("Welcome" on first open, before the login) keeps
    the activities of devices without a lead in TriggerWait until one logs in or the wait
    ends; returns the activities to evaluate now. The devices are locked first, so a login
    committing meanwhile either shows here (evaluated now) or finds the wait to release."""
    minutes = trigger_wait_for_lead_minutes(campaign.trigger)
    anonymous = {a["device_id"] for a in activities if a["device_lead_id"] is None}
    if not minutes or not anonymous:
        return activities
    leads_now = dict(
        Device.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(anonymous))
        .order_by("pk")
        .values_list("pk", "lead_id")
    )
    ready, waits = [], []
    for activity in activities:
        lead_id = leads_now.get(activity["device_id"], activity["device_lead_id"])
        if lead_id is not None or activity["device_id"] not in anonymous:
            ready.append({**activity, "device_lead_id": lead_id})
        elif (until := activity["created_at"] + dt.timedelta(minutes=minutes)) > now:
            # Measured from when the activity arrived, however late it is evaluated.
            waits.append((activity["id"], campaign.pk, activity["device_id"], until))
    waits_add(waits)
    return ready


@transaction.atomic
def _campaign_fire(
    campaign: Campaign,
    activities: list[dict[str, Any]],
    *,
    now: dt.datetime,
    send_now: SendNow | None,
) -> int:
    activities = _waiting_for_leads_set_aside(campaign, activities, now=now)
    if campaign.qualification != Campaign.Qualification.EVERY_TIME:
        _lock_leads(campaign.pk, {a["device_lead_id"] for a in activities if a["device_lead_id"]})
    fires = _fires_for(campaign, activities, now=now)
    if not fires:
        return 0
    _place(campaign, fires, now, send_now)
    logger.info(
        "campaigns: trigger campaign %s fired %s delivery(ies) for %s activity(ies)",
        campaign.pk,
        len(fires),
        len(activities),
    )
    return len(fires)
