"""A/B assignment in the ledger's INSERT … SELECT: shares, control rows, leads sharing a
variant, stability, and the winner run's complement."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from campaigns import resolve, services
from campaigns.abtest.assignment import BUCKETS, lead_bucket
from campaigns.ledger.counters import runs_counter_drift
from campaigns.models import CampaignRun, Delivery
from devices.models import Device
from tests.abtest_fixtures import ab_campaign, seed_leads_with_devices
from tests.campaign_fixtures import run_started

pytestmark = pytest.mark.django_db

DEVICES = 4000


def _shares(run: CampaignRun) -> dict[str, float]:
    counts = Counter(
        dict(Delivery.objects.filter(run=run).values_list("variant").annotate(n=Count("id")))
    )
    total = sum(counts.values())
    return {label: 100 * n / total for label, n in counts.items()}


def test_variants_split_the_audience_by_their_shares_and_the_control_is_held_out(
    app, addon_on, dispatched
):
    seed_leads_with_devices(app=app, devices=DEVICES, paired=400)
    campaign = ab_campaign(app=app, shares={"A": 45, "B": 35, "C": 10, "D": 10}, controls=("D",))
    run = run_started(campaign)
    assert run is not None
    shares = _shares(run)
    for label, target in {"A": 45, "B": 35, "C": 10, "D": 10}.items():
        assert abs(shares[label] - target) <= 3, shares
    control = Delivery.objects.filter(run=run, variant="D")
    assert set(control.values_list("status", "reason").distinct()) == {("skipped", "held_out")}
    assert not Delivery.objects.filter(run=run, variant="D", status="queued").exists()
    assert set(
        Delivery.objects.filter(run=run).exclude(variant="D").values_list("status", flat=True)
    ) == {"queued"}
    run.refresh_from_db()
    assert run.total == DEVICES
    assert run.skipped_android == control.count()
    assert runs_counter_drift([run.pk]) == []


def test_every_device_of_a_lead_gets_the_same_variant(app, addon_on, dispatched):
    seed_leads_with_devices(app=app, devices=600, paired=600)
    campaign = ab_campaign(app=app, shares={"A": 50, "B": 50})
    run = run_started(campaign)
    per_lead = (
        Delivery.objects.filter(run=run)
        .values("lead_id")
        .annotate(devices=Count("id"), variants=Count("variant", distinct=True))
    )
    assert {row["devices"] for row in per_lead} == {2}
    assert {row["variants"] for row in per_lead} == {1}
    assert set(Delivery.objects.filter(run=run).values_list("variant", flat=True)) == {"A", "B"}


def test_the_bucket_of_a_lead_is_stable_and_differs_between_runs(app, addon_on):
    seed_leads_with_devices(app=app, devices=2000)
    devices = Device.objects.filter(app=app).order_by("id")
    first = list(devices.annotate(b=lead_bucket(7)).values_list("b", flat=True))
    again = list(devices.annotate(b=lead_bucket(7)).values_list("b", flat=True))
    other = list(devices.annotate(b=lead_bucket(8)).values_list("b", flat=True))
    assert first == again
    assert all(0 <= b < BUCKETS for b in first)
    # Another run shuffles the leads: about half change sides of the median.
    flipped = sum(
        (a < BUCKETS // 2) != (b < BUCKETS // 2) for a, b in zip(first, other, strict=True)
    )
    assert 800 <= flipped <= 1200
    # Sequential lead ids are spread over the whole range, not banded.
    assert len({b // 1000 for b in first}) == 10


def test_resolving_an_ab_run_takes_as_many_statements_as_a_plain_one(app, addon_on, dispatched):
    def statements(campaign) -> int:  # noqa: ANN001
        services.campaign_start(actor=None, campaign=campaign)
        run = campaign.runs.get()
        with CaptureQueriesContext(connection) as ctx:
            resolve.run_resolve(run_id=run.pk)
        return len(ctx.captured_queries)

    seed_leads_with_devices(app=app, devices=500)
    plain = statements(ab_campaign(app=app, shares={"A": 50, "B": 50}, name="warm-up"))
    seed_leads_with_devices(app=app, devices=1500, prefix="more")
    with_test = statements(
        ab_campaign(app=app, shares={"A": 40, "B": 40, "C": 20}, controls=("C",))
    )
    assert with_test <= plain + 1


def test_winner_mode_sends_the_test_share_only_and_the_winner_run_takes_the_rest(
    app, addon_on, dispatched
):
    seed_leads_with_devices(app=app, devices=DEVICES)
    campaign = ab_campaign(
        app=app, shares={"A": 50, "B": 50}, winner={"test_percent": 20, "wait_minutes": 5}
    )
    test = run_started(campaign)
    assert test is not None
    test.refresh_from_db()
    assert abs(test.total - DEVICES * 0.2) <= DEVICES * 0.02
    assert test.ab_test_percent == 20 and test.ab_winner_due_at is not None
    assert dict(
        Counter(Delivery.objects.filter(run=test).values_list("variant", flat=True))
    ).keys() == {"A", "B"}
    winner = CampaignRun.objects.create(
        kind="batch",
        status="resolving",
        campaign=campaign,
        notification_id=campaign.notification_id,
        app=app,
        content=campaign.notification.approved_content,
        ab_test_run=test,
        ab_winner="B",
        ab_test_percent=20,
    )
    resolve.run_resolve(run_id=winner.pk)
    winner.refresh_from_db()
    tested = set(Delivery.objects.filter(run=test).values_list("device_id", flat=True))
    rest = set(Delivery.objects.filter(run=winner).values_list("device_id", flat=True))
    assert tested.isdisjoint(rest)
    assert len(tested | rest) == DEVICES
    assert set(Delivery.objects.filter(run=winner).values_list("variant", flat=True)) == {"B"}
