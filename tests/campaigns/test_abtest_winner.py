"""Winner mode without a worker: the pick is due-gated, idempotent, audited, and the campaign
completes only once the winner run has sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns import resolve, services
from campaigns.abtest.winner import ab_winner_pick, ab_winners_due
from campaigns.models import Campaign, CampaignRun, Delivery
from pushmarketing.core.models import AuditEntry
from tests.abtest_fixtures import ab_campaign, seed_leads_with_devices
from tests.campaign_fixtures import deliveries_mark, run_finish, run_started

pytestmark = pytest.mark.django_db

DEVICES = 500


@pytest.fixture
def tested(app, addon_on, enqueued):  # noqa: ANN001, ANN201
    """A winner-mode campaign whose 20 % test run is resolved and sent: A tapped 1 in 10,
    B 3 in 10."""
    seed_leads_with_devices(app=app, devices=DEVICES)
    campaign = ab_campaign(
        app=app, shares={"A": 50, "B": 50}, winner={"test_percent": 20, "wait_minutes": 10}
    )
    run = run_started(campaign)
    assert run is not None
    now = timezone.now()
    deliveries_mark(Delivery.objects.filter(run=run), status="sent", sent_at=now)
    for label, every in (("A", 10), ("B", 3)):
        ids = list(Delivery.objects.filter(run=run, variant=label).values_list("id", flat=True))
        Delivery.objects.filter(id__in=ids[::every]).update(tapped_at=now)
    run_finish(run)
    return campaign, run


def test_the_wait_is_enqueued_and_audited_when_the_test_run_resolves(tested, enqueued):  # noqa: ANN001
    campaign, run = tested
    run.refresh_from_db()
    assert run.ab_winner_due_at is not None
    (args,) = enqueued.named("campaigns.ab_winner_pick")
    assert args == (run.pk,)
    countdown = next(c for name, _, _, c in enqueued.tasks if name == "campaigns.ab_winner_pick")
    assert 590 <= countdown <= 600.1
    entry = AuditEntry.objects.get(action="campaign.ab_test_sent")
    assert "sent to 20 % of the audience" in entry.summary


def test_a_winner_is_not_picked_before_the_wait_is_over(tested):  # noqa: ANN001
    campaign, run = tested
    assert ab_winner_pick(run_id=run.pk, now=timezone.now()) is None
    campaign.refresh_from_db()
    # The test run completed, but the rest of the audience is still to be sent.
    assert run.status == "completed" and campaign.status == Campaign.Status.RUNNING


def test_the_best_tap_through_wins_and_the_rest_get_it_once(tested, enqueued):  # noqa: ANN001
    campaign, run = tested
    later = timezone.now() + dt.timedelta(minutes=11)
    pick = ab_winner_pick(run_id=run.pk, now=later)
    assert pick is not None and pick.winner == "B"
    # The beat's pass and a redelivered ETA task find it picked: nothing more opens.
    assert ab_winner_pick(run_id=run.pk, now=later) is None
    assert ab_winners_due(now=later) == []
    winner_run = CampaignRun.objects.get(ab_test_run=run)
    assert winner_run.pk == pick.winner_run_id
    assert winner_run.notification.name == "Variant B"
    assert enqueued.named("campaigns.run_resolve")[-1] == (winner_run.pk,)
    resolve.run_resolve(run_id=winner_run.pk)
    winner_run.refresh_from_db()
    assert winner_run.total + run.total == DEVICES
    assert set(winner_run.deliveries.values_list("variant", flat=True)) == {"B"}
    picked = AuditEntry.objects.get(action="campaign.ab_winner_picked")
    assert "variant B won" in picked.summary and picked.details["winner_run_id"] == winner_run.pk
    deliveries_mark(winner_run.deliveries.all(), status="sent", sent_at=timezone.now())
    run_finish(winner_run)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_a_tie_goes_to_the_first_variant(tested):  # noqa: ANN001
    campaign, run = tested
    Delivery.objects.filter(run=run).update(tapped_at=None)
    pick = ab_winner_pick(run_id=run.pk, now=timezone.now() + dt.timedelta(minutes=11))
    assert pick is not None and pick.winner == "A"


def test_a_cancelled_campaign_never_sends_its_winner(tested, admin_user):  # noqa: ANN001
    campaign, run = tested
    services.campaign_cancel(actor=admin_user, campaign=campaign)
    assert ab_winner_pick(run_id=run.pk, now=timezone.now() + dt.timedelta(minutes=11)) is None
    assert not CampaignRun.objects.filter(ab_test_run=run).exists()
    run.refresh_from_db()
    assert run.ab_winner_due_at is None
    assert AuditEntry.objects.filter(action="campaign.ab_winner_abandoned").count() == 1


def test_a_paused_campaign_waits_and_resuming_keeps_the_winner_coming(tested, admin_user):  # noqa: ANN001
    campaign, run = tested
    services.campaign_pause(actor=admin_user, campaign=campaign)
    later = timezone.now() + dt.timedelta(minutes=11)
    assert ab_winner_pick(run_id=run.pk, now=later) is None
    services.campaign_resume(actor=admin_user, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert ab_winner_pick(run_id=run.pk, now=later) is not None


def test_a_recurring_campaign_scheduled_again_still_gets_its_winner(tested):  # noqa: ANN001
    campaign, run = tested
    # A recurring campaign goes back to `scheduled` as soon as a run is opened.
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED)
    pick = ab_winner_pick(run_id=run.pk, now=timezone.now() + dt.timedelta(minutes=11))
    assert pick is not None and pick.winner == "B"
