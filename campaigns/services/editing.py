"""Create and edit campaigns (validated by campaigns.rules; edits go through the state table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from campaigns.abtest.variants import (
    AbTestSpec,
    ab_test_describe,
    ab_test_validate,
    campaign_variants_set,
)
from campaigns.lifecycle import Action, campaign_next_status
from campaigns.models import Campaign
from campaigns.qualification import RuleChecks
from campaigns.rules import CampaignError, campaign_validate
from campaigns.scheduling import first_run_at
from campaigns.services.listening import trigger_listeners_changed
from devices.models import MobileApp
from pushmarketing.core.audit import audit_record


def _validated(
    data: dict[str, Any], *, app: MobileApp, kind: str, now: datetime | None = None
) -> tuple[dict[str, Any], AbTestSpec | None]:
    """The settings and the A/B test, checked together: every broken rule of both is raised
    at once (RuleErrors)."""
    checks = RuleChecks()
    fields = checks.check(campaign_validate, data, app=app, kind=kind, now=now or timezone.now())
    ab_test = checks.check(ab_test_validate, data.get("ab_test"), app=app, kind=kind)
    checks.raise_any()  # so both passed: `fields` holds the settings
    return cast("dict[str, Any]", fields), ab_test


@transaction.atomic
def campaign_create(
    *, actor: User | None, app: MobileApp, kind: str, data: dict[str, Any]
) -> Campaign:
    if kind not in Campaign.Kind.values:
        raise CampaignError("kind", "must be batch or trigger")
    fields, ab_test = _validated(data, app=app, kind=kind)
    campaign = Campaign.objects.create(app=app, kind=kind, created_by=actor, **fields)
    campaign_variants_set(campaign=campaign, spec=ab_test)
    audit_record(
        actor=actor,
        action="campaign.created",
        target=campaign,
        summary=f"Created {campaign}",
        details={"ab_test": ab_test_describe(campaign)} if ab_test else None,
    )
    return campaign


@transaction.atomic
def campaign_update(*, actor: User | None, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_next_status(campaign.status, Action.EDIT)
    now = timezone.now()
    fields, ab_test = _validated(data, app=campaign.app, kind=campaign.kind, now=now)
    for key, value in fields.items():
        setattr(campaign, key, value)
    if campaign.status == Campaign.Status.SCHEDULED:
        campaign.next_run_at = first_run_at(campaign, now)
    campaign.save()
    campaign_variants_set(campaign=campaign, spec=ab_test)
    audit_record(
        actor=actor,
        action="campaign.updated",
        target=campaign,
        summary=f"Edited {campaign}",
        details={"ab_test": ab_test_describe(campaign)} if ab_test else None,
    )
    trigger_listeners_changed(campaign)
    return campaign
