"""Winner mode: the test run's variants went to the test share; after the wait, the variant
with the best tap-through rate goes to the rest of the audience in a run of its own.

The pick is a service that is safe to run any number of times: it locks the campaign and the
test run, and acts only while the run's winner is due and not yet picked, so the ETA task sent
when the wait started and the beat's tick (the backstop for an ETA task lost with a broker or
a wait longer than an ETA hop) can both call it. Every step is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from campaigns import enqueue
from campaigns.abtest.stats import Arm, arms_ranked
from campaigns.ledger.runs import run_lock_with_campaign, run_open
from campaigns.models import Campaign, CampaignRun, Delivery
from pushmarketing.core.audit import audit_record

logger = logging.getLogger(__name__)


def winner_wait_start(*, run: CampaignRun, campaign: Campaign, now: datetime) -> None:
    """The test run's rows exist: the winner is due `ab_wait_minutes` from now (the caller
    holds the run's lock)."""
    run.ab_winner_due_at = now + timedelta(minutes=campaign.ab_wait_minutes or 1)
    run.save(update_fields=["ab_winner_due_at"])
    enqueue.ab_winner_pick(run_id=run.pk, due=run.ab_winner_due_at, now=now)
    shares = ", ".join(f"{label} {arm['share']} %" for label, arm in sorted(run.variants.items()))
    audit_record(
        actor=None,
        action="campaign.ab_test_sent",
        target=campaign,
        summary=(
            f"A/B test of {campaign}: variants ({shares}) sent to {run.ab_test_percent} % of "
            f"the audience; winner due {run.ab_winner_due_at:%Y-%m-%d %H:%M} UTC"
        ),
        details={
            "run_id": run.pk,
            "test_percent": run.ab_test_percent,
            "due_at": run.ab_winner_due_at.isoformat(),
        },
    )


def run_variant_arms(run_id: int) -> list[Arm]:
    """Sent and tapped per variant of a run that sends something (one GROUP BY)."""
    rows = (
        Delivery.objects.filter(run_id=run_id)
        .exclude(variant="")
        .values("variant")
        .annotate(
            sent=Count("id", filter=Q(status=Delivery.Status.SENT)),
            tapped=Count("id", filter=Q(tapped_at__isnull=False)),
        )
        .order_by("variant")
    )
    return [Arm(label=row["variant"], sent=row["sent"], tapped=row["tapped"]) for row in rows]


@dataclass(frozen=True)
class Pick:
    test_run_id: int
    winner: str
    winner_run_id: int


def _pending(campaign_id: int) -> QuerySet[CampaignRun]:
    return CampaignRun.objects.filter(
        campaign_id=campaign_id, ab_winner="", ab_winner_due_at__isnull=False
    )


def campaign_winner_pending(*, campaign_id: int) -> bool:
    """A winner-mode test of the campaign still waits for its winner to be sent."""
    return _pending(campaign_id).exists()


def campaign_winners_abandon(*, campaign: Campaign, why: str) -> int:
    """Forget the winners the campaign's tests wait for (the caller holds the campaign lock):
    a cancelled campaign, or one run again, must not send an old test's winner later."""
    run_ids = list(_pending(campaign.pk).values_list("pk", flat=True))
    if run_ids:
        _pending(campaign.pk).update(ab_winner_due_at=None)
        audit_record(
            actor=None,
            action="campaign.ab_winner_abandoned",
            target=campaign,
            summary=f"A/B test of {campaign}: no winner will be sent ({why})",
            details={"run_ids": run_ids},
        )
    return len(run_ids)


@transaction.atomic
def ab_winner_pick(*, run_id: int, now: datetime) -> Pick | None:
    """Pick the test run's winner and open the run that sends it to the rest, if it is due
    now; otherwise nothing (a later call does it)."""
    test = run_lock_with_campaign(run_id)
    if test is None or test.ab_winner or test.ab_winner_due_at is None or test.campaign_id is None:
        return None  # picked already, abandoned, or not a winner-mode test
    if test.ab_winner_due_at > now:
        return None
    campaign = Campaign.objects.get(pk=test.campaign_id)
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.COMPLETED):
        campaign_winners_abandon(campaign=campaign, why=f"the campaign is {campaign.status}")
        return None
    # Running, or scheduled again: a recurring campaign is `scheduled` while its runs send.
    sending = campaign.status in (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED)
    if not sending or test.status != CampaignRun.Status.COMPLETED:
        # Paused, or the test is still sending: its taps are not in yet. The beat retries.
        logger.info("abtest: run %s winner waits (%s, %s)", run_id, campaign.status, test.status)
        return None
    pushes = [label for label, arm in test.variants.items() if arm["content"] is not None]
    arms = [arm for arm in run_variant_arms(test.pk) if arm.label in pushes]
    arms += [Arm(label, 0, 0) for label in pushes if label not in {a.label for a in arms}]
    best = arms_ranked(arms)[0]
    test.ab_winner = best.label
    test.save(update_fields=["ab_winner"])
    chosen = test.variants[best.label]
    winner_run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.RESOLVING,
        campaign_id=campaign.pk,
        notification_id=chosen["notification_id"],
        app_id=test.app_id,
        content=chosen["content"],
        ab_test_percent=test.ab_test_percent,
        now=now,
    )
    winner_run.ab_test_run = test
    winner_run.ab_winner = best.label
    winner_run.save(update_fields=["ab_test_run", "ab_winner"])
    enqueue.run_resolve(run_id=winner_run.pk)
    rates = ", ".join(f"{a.label} {a.tapped}/{a.sent}" for a in sorted(arms, key=lambda a: a.label))
    audit_record(
        actor=None,
        action="campaign.ab_winner_picked",
        target=campaign,
        summary=(
            f"A/B test of {campaign}: variant {best.label} won (taps/sent: {rates}); sending it "
            f"to the remaining {100 - (test.ab_test_percent or 0)} % of the audience"
        ),
        details={
            "run_id": test.pk,
            "winner": best.label,
            "winner_run_id": winner_run.pk,
            "arms": {a.label: {"sent": a.sent, "tapped": a.tapped} for a in arms},
        },
    )
    logger.info("abtest: run %s winner %s, run %s opened", test.pk, best.label, winner_run.pk)
    return Pick(test_run_id=test.pk, winner=best.label, winner_run_id=winner_run.pk)


def ab_winners_due(*, now: datetime) -> list[Pick]:
    """The beat's pass: pick every winner that is due (each in its own transaction)."""
    due = CampaignRun.objects.filter(ab_winner="", ab_winner_due_at__lte=now).values_list(
        "pk", flat=True
    )
    picks = [ab_winner_pick(run_id=run_id, now=now) for run_id in due]
    return [pick for pick in picks if pick is not None]
