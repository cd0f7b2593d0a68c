"""Management API sends: the campaign's push to named leads' eligible devices, now."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.ledger.counters import run_counters_from_rows
from campaigns.ledger.inserts import deliveries_insert
from campaigns.ledger.planning import deliveries_plan_times, deliveries_skip_capped
from campaigns.ledger.runs import campaign_run_open, run_settle
from campaigns.lifecycle import Action, campaign_next_status
from campaigns.models import Campaign, CampaignRun
from campaigns.rules import MAX_API_LEADS, CampaignError
from campaigns.selectors import notification_platforms, sendable_devices
from campaigns.services.actions import actor_id, require_addon
from devices.models import Lead
from pushmarketing.core.audit import audit_record


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
    actor: User | None,
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
    require_addon()
    if not emails and not lead_ids:
        raise CampaignError("leads", "give at least one lead email or lead id")
    if len(emails) + len(lead_ids) > MAX_API_LEADS:
        raise CampaignError("leads", f"at most {MAX_API_LEADS} leads per call")
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
    actor: User | None,
    campaign: Campaign,
    emails: list[str],
    lead_ids: list[int],
    idempotency_key: str,
) -> CampaignRun:
    campaign = (
        Campaign.objects.select_for_update().select_related("notification").get(pk=campaign.pk)
    )
    campaign_next_status(campaign.status, Action.API_SEND)
    now = timezone.now()
    run = campaign_run_open(
        campaign=campaign,
        kind=CampaignRun.Kind.API,
        status=CampaignRun.Status.SENDING,
        started_by_id=actor_id(actor),
        idempotency_key=idempotency_key,
        now=now,
    )
    # The API names its recipients explicitly: audience filters and qualification are the
    # caller's business, but eligibility, caps and quiet hours still hold.
    audience = sendable_devices(
        app_id=campaign.app_id, rows=[], platforms=notification_platforms(campaign.notification)
    ).filter(_api_leads_q(emails=emails, lead_ids=lead_ids))
    deliveries_insert(run=run, audience=audience, now=now)
    deliveries_skip_capped(run=run, cap=campaign.frequency_cap, now=now)
    deliveries_plan_times(run=run, quiet=campaign.quiet_hours, local=None, now=now)
    run_counters_from_rows(run)
    audit_record(
        actor=actor,
        action="campaign.api_triggered",
        target=campaign,
        summary=f"API send of {campaign} to {run.total} device(s)",
        details={"run_id": run.pk, "leads": len(emails) + len(lead_ids)},
    )
    deliveries_dispatch(run=run)
    run_settle(run=run, now=now)
    return run
