"""Resolve a batch run: its campaign's audience becomes the run's delivery rows.

The run was opened (`resolving`) by the transaction that started the campaign; this runs in a
task because the audience can be a million devices. It is safe to run twice: it locks the
campaign and the run, and does nothing unless the run is still `resolving`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.abtest.rows import run_rows
from campaigns.abtest.winner import winner_wait_start
from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.ledger.counters import run_counters_from_rows
from campaigns.ledger.inserts import deliveries_insert
from campaigns.ledger.planning import LocalSchedule, deliveries_plan_times, deliveries_skip_capped
from campaigns.ledger.runs import run_lock_with_campaign, run_move, run_settle
from campaigns.lifecycle import Action
from campaigns.models import Campaign, CampaignRun
from campaigns.qualification import already_qualified_q, parse_hhmm
from campaigns.selectors import notification_platforms, sendable_devices
from devices.models import Device

logger = logging.getLogger(__name__)


def local_schedule(campaign: Campaign) -> LocalSchedule | None:
    if campaign.schedule_kind != Campaign.ScheduleKind.LOCAL_TIME:
        return None
    spec = campaign.schedule_spec
    return LocalSchedule(
        day=dt.date.fromisoformat(spec["date"]), at=parse_hhmm(spec["time"], "time")
    )


def campaign_audience(campaign: Campaign) -> QuerySet[Device]:
    """Filters, eligibility and the push's platforms (qualification is applied per run); an
    A/B test reaches the platforms of any of its pushes (a device whose variant's push leaves
    its platform out is skipped at send time, like any disabled platform)."""
    pushes = [campaign.notification]
    pushes += [
        v.notification for v in campaign.variants.select_related("notification") if v.notification
    ]
    platforms = sorted({p for push in pushes for p in notification_platforms(push)})
    return sendable_devices(app_id=campaign.app_id, rows=campaign.audience, platforms=platforms)


@transaction.atomic
def run_resolve(*, run_id: int) -> CampaignRun | None:
    """Insert the run's deliveries, plan them, count them, hand them to the engine."""
    run = run_lock_with_campaign(run_id)
    if run is None or run.status != CampaignRun.Status.RESOLVING or run.campaign_id is None:
        logger.info("campaigns: run %s not resolved: %s", run_id, run.status if run else "gone")
        return None
    campaign = Campaign.objects.select_related("notification").get(pk=run.campaign_id)
    now = timezone.now()
    audience = campaign_audience(campaign)
    disqualified = already_qualified_q(campaign, now=now, exclude_run_id=run.pk)
    if disqualified is not None:
        audience = audience.exclude(disqualified)
    audience, shape = run_rows(run=run, audience=audience)
    deliveries_insert(run=run, audience=audience, now=now, shape=shape)
    deliveries_skip_capped(run=run, cap=campaign.frequency_cap, now=now)
    deliveries_plan_times(
        run=run, quiet=campaign.quiet_hours, local=local_schedule(campaign), now=now
    )
    run_counters_from_rows(run)
    # Paused while the audience was resolved: the rows wait for the resume.
    paused = campaign.status == Campaign.Status.PAUSED
    run_move(run, Action.RESOLVED_PAUSED if paused else Action.RESOLVED, now=now)
    logger.info(
        "campaigns: run %s of campaign %s resolved, %s queued of %s",
        run.pk,
        campaign.pk,
        run.queued_ios + run.queued_android,
        run.total,
    )
    if not paused:
        deliveries_dispatch(run=run)
    if run.ab_test_percent is not None and run.ab_test_run_id is None:
        winner_wait_start(run=run, campaign=campaign, now=now)
    run_settle(run=run, now=now)
    return run
