"""Management API sends: the campaign's push to named leads' eligible devices, now."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

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
from campaigns.models import Campaign, CampaignRun, TriggerKey
from campaigns.rules import MAX_API_LEADS, CampaignError
from campaigns.selectors import notification_platforms, sendable_devices
from campaigns.services.actions import actor_id, require_addon
from devices.models import Lead
from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import ApiToken


def _api_leads_q(*, emails: list[str], lead_ids: list[int]) -> Q:
    q = Q(pk__in=[])
    if emails:
        # Emails are unique case-insensitively (lead_email_unique_ci).
        matching = Lead.objects.annotate(e=Lower("email")).filter(e__in=[e.lower() for e in emails])
        q |= Q(lead_id__in=matching.values("pk"))
    if lead_ids:
        q |= Q(lead_id__in=lead_ids)
    return q


# Stripe keeps a key 24 hours: long enough for a client's retries after an outage, short
# enough that a key reused a day later (a daily job's date-based key) is a new request.
TRIGGER_KEY_TTL = timedelta(hours=24)


class IdempotencyKeyConflict(CampaignError):
    """The key was first used with another request (409: the client must pick a new key)."""


def trigger_request_hash(*, campaign_id: int, emails: list[str], lead_ids: list[int]) -> str:
    body = {"campaign": campaign_id, "leads": emails, "lead_ids": lead_ids}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replayed_run(
    *, token: ApiToken, idempotency_key: str, request_hash: str, now: datetime
) -> CampaignRun | None:
    """The run this token's live key already made, or None; IdempotencyKeyConflict when the
    key came with another request."""
    used = (
        TriggerKey.objects.select_related("run")
        .filter(token=token, key=idempotency_key, created_at__gt=now - TRIGGER_KEY_TTL)
        .first()
    )
    if used is None:
        return None
    if used.request_hash != request_hash:
        raise IdempotencyKeyConflict(
            "idempotency_key",
            f"{idempotency_key!r} was already used with a different request (another "
            "campaign or other leads); send a new key for a new request",
        )
    return used.run


def campaign_api_trigger(
    *,
    actor: User | None,
    token: ApiToken,
    campaign: Campaign,
    emails: list[str],
    lead_ids: list[int],
    idempotency_key: str,
) -> tuple[CampaignRun, bool]:
    """Send the campaign's push to these leads' eligible devices. Returns (run, created): the
    same token repeating a key with the same request within TRIGGER_KEY_TTL gets the first
    run back and sends nothing (IdempotencyKeyConflict with another request)."""
    now = timezone.now()
    request_hash = trigger_request_hash(campaign_id=campaign.pk, emails=emails, lead_ids=lead_ids)
    replayed = _replayed_run(
        token=token, idempotency_key=idempotency_key, request_hash=request_hash, now=now
    )
    if replayed is not None:
        return replayed, False
    require_addon()
    if not emails and not lead_ids:
        raise CampaignError("leads", "give at least one lead email or lead id")
    if len(emails) + len(lead_ids) > MAX_API_LEADS:
        raise CampaignError("leads", f"at most {MAX_API_LEADS} leads per call")
    try:
        with transaction.atomic():
            # The token's expired keys go first, so an expired key can be used again.
            TriggerKey.objects.filter(token=token, created_at__lte=now - TRIGGER_KEY_TTL).delete()
            run = _api_run_create(
                actor=actor, campaign=campaign, emails=emails, lead_ids=lead_ids, now=now
            )
            TriggerKey.objects.create(
                token=token, key=idempotency_key, request_hash=request_hash, run=run, created_at=now
            )
            return run, True
    except IntegrityError:
        # Two concurrent calls with one key: the loser's insert of the key waited for the
        # winner's commit, and the loser's run rolled back; it answers as a replay.
        replayed = _replayed_run(
            token=token, idempotency_key=idempotency_key, request_hash=request_hash, now=now
        )
        if replayed is None:
            raise
        return replayed, False


def _api_run_create(
    *,
    actor: User | None,
    campaign: Campaign,
    emails: list[str],
    lead_ids: list[int],
    now: datetime,
) -> CampaignRun:
    campaign = (
        Campaign.objects.select_for_update().select_related("notification").get(pk=campaign.pk)
    )
    campaign_next_status(campaign.status, Action.API_SEND)
    run = campaign_run_open(
        campaign=campaign,
        kind=CampaignRun.Kind.API,
        status=CampaignRun.Status.SENDING,
        started_by_id=actor_id(actor),
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
