"""The campaign page in plain words: audience sentences, per-campaign run numbers, and
confirmations that say how many devices a send reaches."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from campaigns import selectors
from campaigns.ledger.runs import run_open
from campaigns.models import Campaign, CampaignRun
from tests.abtest_fixtures import ab_campaign
from tests.campaign_fixtures import device, make_campaign, run_started


def _run(campaign: Campaign) -> CampaignRun:
    return run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.COMPLETED,
        notification_id=campaign.notification_id,
        app_id=campaign.app_id,
        content={},
        now=timezone.now(),
        campaign_id=campaign.pk,
    )


def test_runs_are_numbered_within_their_campaign(app, push, django_assert_num_queries):
    first, second = (make_campaign(app=app, notification=push, name=n) for n in "AB")
    _run(first)
    b1 = _run(second)
    _run(first)
    b2 = _run(second)
    with django_assert_num_queries(1):
        numbers = [(r.pk, r.number) for r in selectors.campaign_runs(second)]
    assert numbers == [(b2.pk, 2), (b1.pk, 1)]
    # Only the latest fit the page; numbering still counts the older ones.
    assert [r.number for r in selectors.campaign_runs(second, limit=1)] == [2]
    assert selectors.run_number(b1) == 1 and selectors.run_number(b2) == 2


def test_campaign_page_numbers_runs_and_reads_the_audience_as_sentences(
    app, push, addon_on, marketer_client
):
    other = make_campaign(app=app, notification=push, name="Other")
    _run(other)
    campaign = make_campaign(
        app=app,
        notification=push,
        status=Campaign.Status.COMPLETED,
        audience=[
            {
                "field": "lead_field",
                "lead_field": "City",
                "op": "equals",
                "value": "London",
                "negate": True,
            }
        ],
    )
    run = _run(campaign)
    page = marketer_client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "<li>City is not London</li>" in page
    assert (
        f'href="{reverse("run-dashboard", args=[run.pk])}" title="Dashboard of this run">#1</a>'
        in page
    )
    dashboard = marketer_client.get(reverse("run-dashboard", args=[run.pk])).content.decode()
    assert "Batch run #1" in dashboard


def test_send_now_confirmation_counts_the_audience(app, push, addon_on, marketer_client):
    for _ in range(3):
        device(app)
    device(app, push_enabled=False)
    campaign = make_campaign(app=app, notification=push)
    page = marketer_client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-confirm="Send to 4 devices (3 eligible) now?"' in page


def test_ab_test_confirmation_says_what_the_control_and_the_first_wave_get(
    app, addon_on, marketer_client
):
    for _ in range(2):
        device(app)
    split = ab_campaign(app=app, shares={"A": 45, "B": 45, "C": 10}, controls=("C",))
    page = marketer_client.get(reverse("campaign-detail", args=[split.pk])).content.decode()
    assert (
        'data-confirm="Send to 2 devices (2 eligible) now? A control group of 10% gets nothing."'
        in page
    )
    winner = ab_campaign(
        app=app, shares={"A": 50, "B": 50}, winner={"test_percent": 20, "wait_minutes": 30}
    )
    page = marketer_client.get(reverse("campaign-detail", args=[winner.pk])).content.decode()
    assert (
        'data-confirm="Send to 2 devices (2 eligible) now? '
        'The test goes to 20% of them first; the winner to the rest."' in page
    )


def test_send_again_confirmation_counts_the_audience(app, push, addon_on, marketer_client):
    device(app)
    campaign = make_campaign(app=app, notification=push, status=Campaign.Status.COMPLETED)
    page = marketer_client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-confirm="Send again to 1 device (1 eligible) now?"' in page


def test_turn_off_confirmation_says_what_stops(admin_client, app, push, addon_on, dispatched):
    for _ in range(2):
        device(app)
    run_started(make_campaign(app=app, notification=push))
    page = admin_client.get(reverse("settings")).content.decode()
    assert (
        'data-confirm="Turn Mobile Push off? 1 campaign is running, '
        '2 deliveries are queued and will be skipped."'
    ) in page
