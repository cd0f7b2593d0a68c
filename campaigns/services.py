"""Campaign writes: create/update, start (now or scheduled), resolve a run, pause, resume,
cancel, activate/deactivate triggers, and API-triggered sends. Every state change that a user
makes is audited; every multi-row write is one transaction."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from campaigns.audience import audience_validate
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.qualification import (
    RuleError,
    parse_hhmm,
    validate_frequency_cap,
    validate_quiet_hours,
)
from campaigns.resolve import LocalSchedule, run_counters_set, run_resolve
from campaigns.scheduling import first_run_at, validate_schedule
from campaigns.triggers import validate_trigger
from devices.models import Lead, MobileApp
from devices.trigger_listeners import trigger_kinds_forget
from notifications.models import PushNotification
from pushmarketing.core.addons import ADDON_DISABLED_MESSAGE, mobile_push_enabled
from pushmarketing.core.audit import audit_record

logger = logging.getLogger(__name__)

EDITABLE = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.PAUSED)
MAX_API_LEADS = 1000


class CampaignError(RuleError):
    """A request that breaks a rule: `field` and `rule` say which and why."""


def run_dispatch(*, run_id: int, queue: str) -> int:
    """Hand a run's queued rows to the send engine (enqueued after commit)."""
    from campaigns.delivery.dispatch import deliveries_dispatch

    return deliveries_dispatch(run_id=run_id, queue=queue)


# --- create / update ----------------------------------------------------------------------


def _int_or_none(value: Any, field: str, *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CampaignError(field, f"must be a whole number from {low} to {high}")
    return value


def campaign_validate(
    data: dict[str, Any], *, app: MobileApp, kind: str, now: dt.datetime
) -> dict[str, Any]:
    """Check every campaign setting; return the model fields. Raises CampaignError/RuleError."""
    name = (data.get("name") or "").strip()
    if not name:
        raise CampaignError("name", "is required")
    if len(name) > 120:
        raise CampaignError("name", "must be at most 120 characters")
    notification = data.get("notification")
    if not isinstance(notification, PushNotification):
        raise CampaignError("notification", "is required")
    if notification.app_id != app.pk:
        raise CampaignError("notification", "must belong to the campaign's app")
    if not notification.approved_content:
        raise CampaignError("notification", "must be an approved push")
    qualification = data.get("qualification") or Campaign.Qualification.ONCE
    if qualification not in Campaign.Qualification.values:
        raise CampaignError("qualification", "must be once, every_time or once_per")
    period = _int_or_none(
        data.get("qualification_period_hours"), "qualification_period_hours", low=1, high=8760
    )
    if qualification == Campaign.Qualification.ONCE_PER and period is None:
        raise CampaignError("qualification_period_hours", "is required for once per period")
    fields: dict[str, Any] = {
        "name": name,
        "notification": notification,
        "audience": audience_validate(data.get("audience") or []),
        "qualification": qualification,
        "qualification_period_hours": period
        if qualification == Campaign.Qualification.ONCE_PER
        else None,
        "throttle_per_minute": _int_or_none(
            data.get("throttle_per_minute"), "throttle_per_minute", low=1, high=1_000_000
        ),
        "frequency_cap": validate_frequency_cap(data.get("frequency_cap")),
        "quiet_hours": validate_quiet_hours(data.get("quiet_hours")),
    }
    if kind == Campaign.Kind.TRIGGER:
        fields["trigger"] = validate_trigger(data.get("trigger"))
        tapped = fields["trigger"].get("notification_id")
        if tapped and not PushNotification.objects.filter(pk=tapped, app_id=app.pk).exists():
            raise CampaignError("trigger.notification_id", "must be a push of the campaign's app")
        fields.update(schedule_kind=Campaign.ScheduleKind.NOW, schedule_at=None, schedule_spec={})
    else:
        schedule_kind = data.get("schedule_kind") or Campaign.ScheduleKind.NOW
        fields["schedule_spec"] = validate_schedule(
            schedule_kind, data.get("schedule_at"), data.get("schedule_spec"), now=now
        )
        fields["schedule_kind"] = schedule_kind
        fields["schedule_at"] = (
            data.get("schedule_at") if schedule_kind == Campaign.ScheduleKind.AT else None
        )
        fields["trigger"] = {}
    return fields


@transaction.atomic
def campaign_create(
    *, actor: AbstractBaseUser | None, app: MobileApp, kind: str, data: dict[str, Any]
) -> Campaign:
    if kind not in Campaign.Kind.values:
        raise CampaignError("kind", "must be batch or trigger")
    fields = campaign_validate(data, app=app, kind=kind, now=timezone.now())
    campaign = Campaign.objects.create(app=app, kind=kind, created_by=actor, **fields)
    audit_record(
        actor=actor, action="campaign.created", target=campaign, summary=f"Created {campaign}"
    )
    return campaign


@transaction.atomic
def campaign_update(
    *, actor: AbstractBaseUser | None, campaign: Campaign, data: dict[str, Any]
) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE:
        raise CampaignError(
            "status",
            f"a {campaign.get_status_display().lower()} campaign "
            "cannot be edited; pause or deactivate it first",
        )
    now = timezone.now()
    fields = campaign_validate(data, app=campaign.app, kind=campaign.kind, now=now)
    for key, value in fields.items():
        setattr(campaign, key, value)
    if campaign.status == Campaign.Status.SCHEDULED:
        campaign.next_run_at = first_run_at(campaign, now)
    campaign.save()
    audit_record(
        actor=actor, action="campaign.updated", target=campaign, summary=f"Edited {campaign}"
    )
    _trigger_listeners_changed(campaign)
    return campaign


# --- start / resolve ----------------------------------------------------------------------


def _trigger_listeners_changed(campaign: Campaign) -> None:
    """The SDK path caches which activity kinds the app's active triggers listen for."""
    if campaign.kind == Campaign.Kind.TRIGGER:
        app_id = campaign.app_id
        transaction.on_commit(lambda: trigger_kinds_forget(app_id))


def _require_addon() -> None:
    if not mobile_push_enabled():
        raise CampaignError("addon", ADDON_DISABLED_MESSAGE)


def _require_approved(campaign: Campaign) -> None:
    if not campaign.notification.approved_content:
        raise CampaignError("notification", "must be an approved push")


@transaction.atomic
def campaign_start(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    """Start a batch campaign now or put it on its schedule; activate a trigger campaign."""
    _require_addon()
    campaign = (
        Campaign.objects.select_for_update().select_related("notification").get(pk=campaign.pk)
    )
    _require_approved(campaign)
    if campaign.kind == Campaign.Kind.TRIGGER:
        return campaign_activate(actor=actor, campaign=campaign)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.COMPLETED):
        raise CampaignError(
            "status", f"a {campaign.get_status_display().lower()} campaign cannot be started"
        )
    now = timezone.now()
    if campaign.schedule_kind == Campaign.ScheduleKind.NOW:
        campaign.status, campaign.next_run_at = Campaign.Status.RUNNING, None
        campaign.save(update_fields=["status", "next_run_at", "updated_at"])
        _enqueue_run_start(campaign.pk, actor)
        summary = f"Started {campaign}"
    else:
        campaign.status = Campaign.Status.SCHEDULED
        campaign.next_run_at = first_run_at(campaign, now)
        campaign.save(update_fields=["status", "next_run_at", "updated_at"])
        summary = f"Scheduled {campaign} for {campaign.next_run_at:%Y-%m-%d %H:%M} UTC"
    audit_record(actor=actor, action="campaign.started", target=campaign, summary=summary)
    return campaign


def _enqueue_run_start(campaign_id: int, actor: AbstractBaseUser | None) -> None:
    from campaigns.tasks import campaign_run_start as task

    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    transaction.on_commit(lambda: task.apply_async(args=(campaign_id, actor_id), queue="default"))


def _local_schedule(campaign: Campaign) -> LocalSchedule | None:
    if campaign.schedule_kind != Campaign.ScheduleKind.LOCAL_TIME:
        return None
    spec = campaign.schedule_spec
    return LocalSchedule(
        day=dt.date.fromisoformat(spec["date"]), at=parse_hhmm(spec["time"], "time")
    )


def _run_new(
    *, campaign: Campaign, kind: str, started_by_id: int | None, idempotency_key: str | None = None
) -> CampaignRun:
    now = timezone.now()
    return CampaignRun.objects.create(
        kind=kind,
        status=CampaignRun.Status.RESOLVING,
        campaign=campaign,
        notification_id=campaign.notification_id,
        app_id=campaign.app_id,
        content=campaign.notification.approved_content,
        started_by_id=started_by_id,
        idempotency_key=idempotency_key,
        started_at=now,
    )


@transaction.atomic
def campaign_run_start(*, campaign_id: int, started_by_id: int | None = None) -> CampaignRun | None:
    """Create a batch run, resolve its audience to deliveries, hand it to the engine.

    Skipped (None) when the campaign was paused/cancelled meanwhile or the add-on is off."""
    campaign = (
        Campaign.objects.select_for_update().select_related("notification").get(pk=campaign_id)
    )
    if campaign.status not in (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED):
        logger.info("campaigns: run of campaign %s not started: %s", campaign_id, campaign.status)
        return None
    open_run = CampaignRun.objects.filter(
        campaign=campaign,
        kind=CampaignRun.Kind.BATCH,
        status__in=[CampaignRun.Status.RESOLVING, CampaignRun.Status.SENDING],
    )
    if open_run.exists():
        # A redelivered start task, or a recurrence due while the last run still sends:
        # never two overlapping runs of one campaign.
        logger.info("campaigns: run of campaign %s not started: a run is still open", campaign_id)
        return None
    if not mobile_push_enabled() or not campaign.notification.approved_content:
        logger.warning(
            "campaigns: run of campaign %s not started: add-on off or push not approved",
            campaign_id,
        )
        return None
    now = timezone.now()
    run = _run_new(campaign=campaign, kind=CampaignRun.Kind.BATCH, started_by_id=started_by_id)
    queued = run_resolve(run=run, campaign=campaign, now=now, local=_local_schedule(campaign))
    run.status = CampaignRun.Status.SENDING
    run.save(update_fields=["status"])
    logger.info(
        "campaigns: run %s of campaign %s resolved, %s queued of %s",
        run.pk,
        campaign.pk,
        queued,
        run.total,
    )
    run_dispatch(run_id=run.pk, queue="bulk")
    return run


def campaigns_complete_finished(*, campaign_ids: list[int] | None = None) -> int:
    """One UPDATE: running one-shot batch campaigns whose runs are all done become
    `completed` (the engine completes runs; this folds that into the campaign)."""
    runs = CampaignRun.objects.filter(campaign_id=OuterRef("pk"))
    open_runs = runs.filter(status__in=[CampaignRun.Status.RESOLVING, CampaignRun.Status.SENDING])
    finished = Campaign.objects.filter(
        Exists(runs), ~Exists(open_runs), status=Campaign.Status.RUNNING, next_run_at=None
    )
    if campaign_ids is not None:
        finished = finished.filter(pk__in=campaign_ids)
    return finished.update(status=Campaign.Status.COMPLETED)


def campaign_status_refresh(campaign: Campaign) -> Campaign:
    running = campaign.status == Campaign.Status.RUNNING and campaign.next_run_at is None
    if running and campaigns_complete_finished(campaign_ids=[campaign.pk]):
        campaign.status = Campaign.Status.COMPLETED
    return campaign


# --- pause / resume / cancel --------------------------------------------------------------


@transaction.atomic
def campaign_pause(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    """Stop sending: open runs become `paused`; the engine hands back rows it claims from a
    paused run unsent, and a scheduled campaign stops being picked up by the scheduler."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (
        Campaign.Status.RUNNING,
        Campaign.Status.SCHEDULED,
        Campaign.Status.ACTIVE,
    ):
        raise CampaignError(
            "status", f"a {campaign.get_status_display().lower()} campaign cannot be paused"
        )
    CampaignRun.objects.filter(campaign=campaign, status=CampaignRun.Status.SENDING).update(
        status=CampaignRun.Status.PAUSED
    )
    campaign.status = Campaign.Status.PAUSED
    # Remember what to resume to: a scheduled campaign keeps its next_run_at.
    campaign.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor, action="campaign.paused", target=campaign, summary=f"Paused {campaign}"
    )
    _trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    _require_addon()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.PAUSED:
        raise CampaignError("status", "only a paused campaign can be resumed")
    paused = list(CampaignRun.objects.filter(campaign=campaign, status=CampaignRun.Status.PAUSED))
    CampaignRun.objects.filter(pk__in=[r.pk for r in paused]).update(
        status=CampaignRun.Status.SENDING
    )
    if campaign.kind == Campaign.Kind.TRIGGER:
        campaign.status = Campaign.Status.ACTIVE
    elif paused:
        campaign.status = Campaign.Status.RUNNING
    elif campaign.next_run_at is not None:
        campaign.status = Campaign.Status.SCHEDULED
    else:
        campaign.status = Campaign.Status.COMPLETED
    campaign.save(update_fields=["status", "updated_at"])
    for run in paused:
        run_dispatch(run_id=run.pk, queue="bulk" if run.kind == CampaignRun.Kind.BATCH else "send")
    audit_record(
        actor=actor, action="campaign.resumed", target=campaign, summary=f"Resumed {campaign}"
    )
    _trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    """Queued rows become `skipped: cancelled`; rows already claimed by a worker finish."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.COMPLETED):
        raise CampaignError(
            "status", f"a {campaign.get_status_display().lower()} campaign cannot be cancelled"
        )
    runs = list(
        CampaignRun.objects.select_for_update().filter(
            campaign=campaign,
            status__in=[
                CampaignRun.Status.RESOLVING,
                CampaignRun.Status.SENDING,
                CampaignRun.Status.PAUSED,
            ],
        )
    )
    cancelled = 0
    for run in runs:
        cancelled += _run_cancel(run)
    campaign.status = Campaign.Status.CANCELLED
    campaign.next_run_at = None
    campaign.save(update_fields=["status", "next_run_at", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.cancelled",
        target=campaign,
        summary=f"Cancelled {campaign}",
        details={"deliveries_cancelled": cancelled},
    )
    _trigger_listeners_changed(campaign)
    return campaign


def _run_cancel(run: CampaignRun) -> int:
    queued = Delivery.objects.filter(run=run, status=Delivery.Status.QUEUED)
    by_platform = {
        platform: queued.filter(platform=platform).update(
            status=Delivery.Status.SKIPPED, reason="cancelled"
        )
        for platform in ("ios", "android")
    }
    CampaignRun.objects.filter(pk=run.pk).update(
        status=CampaignRun.Status.CANCELLED,
        finished_at=timezone.now(),
        skipped_ios=F("skipped_ios") + by_platform["ios"],
        skipped_android=F("skipped_android") + by_platform["android"],
    )
    return sum(by_platform.values())


# --- trigger campaigns --------------------------------------------------------------------


def campaign_activate(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    """Open the long-lived trigger run of this activation and start listening."""
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.PAUSED):
        raise CampaignError(
            "status", f"a {campaign.get_status_display().lower()} campaign cannot be activated"
        )
    run = _run_new(campaign=campaign, kind=CampaignRun.Kind.TRIGGER, started_by_id=None)
    run.status = CampaignRun.Status.SENDING
    run.save(update_fields=["status"])
    campaign.status = Campaign.Status.ACTIVE
    campaign.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor, action="campaign.activated", target=campaign, summary=f"Activated {campaign}"
    )
    _trigger_listeners_changed(campaign)
    return campaign


@transaction.atomic
def campaign_deactivate(*, actor: AbstractBaseUser | None, campaign: Campaign) -> Campaign:
    """Stop listening. Deliveries already queued still go out; the next activation opens a new
    run (so it reflects the push as approved then)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.kind != Campaign.Kind.TRIGGER or campaign.status not in (
        Campaign.Status.ACTIVE,
        Campaign.Status.PAUSED,
    ):
        raise CampaignError("status", "only an active trigger campaign can be deactivated")
    campaign.status = Campaign.Status.DRAFT
    campaign.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.deactivated",
        target=campaign,
        summary=f"Deactivated {campaign}",
    )
    _trigger_listeners_changed(campaign)
    return campaign


# --- management API sends -----------------------------------------------------------------


def _api_leads_q(*, emails: list[str], lead_ids: list[int]) -> Q:
    q = Q(pk__in=[])
    if emails:
        # Emails are unique case-insensitively (lead_email_unique_ci).
        matching = Lead.objects.annotate(e=Lower("email")).filter(e__in=[e.lower() for e in emails])
        q |= Q(lead_id__in=matching.values("pk"))
    if lead_ids:
        q |= Q(lead_id__in=lead_ids)
    return q


def campaign_api_trigger(
    *,
    actor: AbstractBaseUser | None,
    campaign: Campaign,
    emails: list[str],
    lead_ids: list[int],
    idempotency_key: str,
) -> tuple[CampaignRun, bool]:
    """Send the campaign's push to these leads' eligible devices. Returns (run, created): a
    repeated idempotency key returns the first run and sends nothing."""
    existing = CampaignRun.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.campaign_id != campaign.pk:
            raise CampaignError("idempotency_key", "was already used for another campaign")
        return existing, False
    _require_addon()
    if not emails and not lead_ids:
        raise CampaignError("leads", "give at least one lead email or lead id")
    if len(emails) + len(lead_ids) > MAX_API_LEADS:
        raise CampaignError("leads", f"at most {MAX_API_LEADS} leads per call")
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.PAUSED):
        raise CampaignError(
            "status", f"a {campaign.get_status_display().lower()} campaign cannot be triggered"
        )
    try:
        with transaction.atomic():
            return _api_run_create(
                actor=actor,
                campaign=campaign,
                emails=emails,
                lead_ids=lead_ids,
                idempotency_key=idempotency_key,
            ), True
    except IntegrityError:
        # Two concurrent calls with one key: the loser returns the winner's run.
        run = CampaignRun.objects.filter(idempotency_key=idempotency_key).first()
        if run is None:
            raise
        return run, False


def _api_run_create(
    *,
    actor: AbstractBaseUser | None,
    campaign: Campaign,
    emails: list[str],
    lead_ids: list[int],
    idempotency_key: str,
) -> CampaignRun:
    from campaigns.resolve import deliveries_insert, deliveries_plan_times, deliveries_skip_capped
    from campaigns.selectors import notification_platforms, sendable_devices

    campaign = Campaign.objects.select_related("notification").get(pk=campaign.pk)
    _require_approved(campaign)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    run = _run_new(
        campaign=campaign,
        kind=CampaignRun.Kind.API,
        started_by_id=actor_id,
        idempotency_key=idempotency_key,
    )
    now = timezone.now()
    # The API names its recipients explicitly: audience filters and qualification are the
    # caller's business, but eligibility, caps and quiet hours still hold.
    audience = sendable_devices(
        app_id=campaign.app_id, rows=[], platforms=notification_platforms(campaign.notification)
    ).filter(_api_leads_q(emails=emails, lead_ids=lead_ids))
    deliveries_insert(run=run, audience=audience, now=now)
    deliveries_skip_capped(run=run, cap=campaign.frequency_cap, now=now)
    deliveries_plan_times(run=run, quiet=campaign.quiet_hours, local=None, now=now)
    run_counters_set(run)
    run.status = CampaignRun.Status.SENDING
    run.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="campaign.api_triggered",
        target=campaign,
        summary=f"API send of {campaign} to {run.total} device(s)",
        details={"run_id": run.pk, "leads": len(emails) + len(lead_ids)},
    )
    run_dispatch(run_id=run.pk, queue="send")
    return run


__all__ = [
    "CampaignError",
    "campaign_activate",
    "campaign_api_trigger",
    "campaign_cancel",
    "campaign_create",
    "campaign_deactivate",
    "campaign_pause",
    "campaign_resume",
    "campaign_run_start",
    "campaign_start",
    "campaign_status_refresh",
    "campaign_update",
    "campaigns_complete_finished",
]
