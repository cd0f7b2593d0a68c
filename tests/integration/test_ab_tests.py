"""A/B tests end to end: a real Celery worker, the real broker and database, the push simulator
over HTTP, taps reported through the SDK API as an app would."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, CampaignRun, Delivery, RunReport
from devices.models import Device
from notifications.simulator import client as sim_client
from pushmarketing.core.models import AuditEntry
from pushmarketing.core.roles import Role
from tests.abtest_fixtures import ab_campaign, seed_leads_with_devices
from tests.api_fixtures import SdkClient, clear_throttle_counts
from tests.delivery_fixtures import simulator_app
from tests.factories import UserFactory
from tests.simulator_fixtures import *  # noqa: F403 - push_simulator fixtures
from tests.worker_fixtures import *  # noqa: F403 - celery_worker fixtures
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEVICES = 10_000
SHARES = {"A": 40, "B": 30, "C": 20, "D": 10}  # D: the control group


@pytest.fixture
def sim_app(push_simulator, transactional_db):  # noqa: ANN001, ANN201
    return simulator_app(push_simulator)


@pytest.fixture
def marketer(transactional_db: None) -> Any:
    # Roles are groups made by a data migration, which a transactional test's flush removes.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    return UserFactory(username="ab-marketer", role="marketer")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _receipts() -> dict[str, list[str]]:
    """Titles each virtual device received, by token."""
    titles: dict[str, list[str]] = {}
    for receipt in sim_client.receipts(limit=50_000):
        titles.setdefault(receipt["token"], []).append(receipt["message"]["notification"]["title"])
    return titles


def _watch(worker, predicate, *, timeout: float):  # noqa: ANN001, ANN202
    try:
        return wait_until(predicate, timeout=timeout, interval=0.5)
    except BaseException:
        print(worker.log()[-20_000:])  # shown by pytest on failure: what the worker did
        raise


def _dashboard_rows(html: str) -> dict[str, dict[str, str]]:
    rows = {}
    for label, body in re.findall(r'<tr data-variant="(\w)">(.*?)</tr>', html, re.S):
        rows[label] = dict(re.findall(r'<td data-k="(\w+)">([^<]*)</td>', body))
    return rows


def test_three_variants_and_a_control_split_10k_devices(
    addon_enabled, sim_app, marketer, celery_worker
):
    seed_leads_with_devices(app=sim_app, devices=DEVICES, paired=1000)
    campaign = ab_campaign(app=sim_app, shares=SHARES, controls=("D",), name="Spring split")
    services.campaign_start(actor=marketer, campaign=campaign)

    def completed() -> bool:
        """the campaign completes and its final report counts every variant"""
        campaign.refresh_from_db()
        report = RunReport.objects.filter(run__campaign=campaign).first()
        return (
            campaign.status == Campaign.Status.COMPLETED
            and report is not None
            and sum(v["sent"] for v in report.by_variant.values()) == DEVICES - held_out()
        )

    def held_out() -> int:
        return Delivery.objects.filter(run__campaign=campaign, reason="held_out").count()

    _watch(celery_worker, completed, timeout=600)
    run = CampaignRun.objects.get(campaign=campaign)
    by_variant = dict(
        Delivery.objects.filter(run=run).values_list("variant").annotate(n=Count("id"))
    )
    assert sum(by_variant.values()) == DEVICES
    for label, target in SHARES.items():
        assert abs(100 * by_variant[label] / DEVICES - target) <= 2, by_variant

    # The control group was recorded and counted, never sent; everybody else got their
    # variant's push, once.
    statuses = Counter(Delivery.objects.filter(run=run).values_list("variant", "status"))
    assert statuses[("D", "skipped")] == by_variant["D"]
    assert {status for (label, status) in statuses if label != "D"} == {"sent"}
    run.refresh_from_db()
    assert run.skipped_android == by_variant["D"]
    received = _receipts()
    tokens = dict(Delivery.objects.filter(run=run).values_list("device__push_token", "variant"))
    control_tokens = {token for token, label in tokens.items() if label == "D"}
    assert control_tokens and not control_tokens & received.keys()
    for token, label in tokens.items():
        if label != "D":
            assert received[token] == [f"Variant {label}"], token
    assert len(received) == DEVICES - by_variant["D"]

    # The dashboard compares the variants with these counts.
    html = _client(marketer).get(reverse("campaign-dashboard", args=[campaign.pk])).content
    rows = _dashboard_rows(html.decode())
    assert set(rows) == set(SHARES)
    for label in ("A", "B", "C"):
        assert rows[label]["sent"] == str(by_variant[label])
        assert rows[label]["held_out"] == "0"
    assert rows["D"]["sent"] == "0" and rows["D"]["held_out"] == str(by_variant["D"])


def test_winner_mode_sends_the_best_variant_to_the_rest(
    addon_enabled, sim_app, marketer, celery_worker
):
    from devices.authentication import sdk_app_cache_clear

    clear_throttle_counts()
    sdk_app_cache_clear()
    seed_leads_with_devices(app=sim_app, devices=500)
    campaign = ab_campaign(
        app=sim_app,
        shares={"A": 50, "B": 50},
        winner={"test_percent": 20, "wait_minutes": 1},
        name="Winner takes the rest",
    )
    services.campaign_start(actor=marketer, campaign=campaign)

    def test_sent() -> CampaignRun | None:
        """the test run completes"""
        return CampaignRun.objects.filter(campaign=campaign, status="completed").first()

    test = _watch(celery_worker, test_sent, timeout=60)
    assert test.ab_test_percent == 20 and 70 <= test.total <= 130
    page = _client(marketer).get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-action="campaign.ab_test_sent"' in page and "The winner is picked at" in page

    # The app reports taps through the SDK API: variant B's readers tap far more often.
    sdk = SdkClient(sim_app.sdk_key)
    tapped = Counter()
    for label, every in (("A", 10), ("B", 2)):
        rows = Delivery.objects.filter(run=test, variant=label).order_by("id")
        for delivery_id, installation_id in rows.values_list("id", "device__installation_id")[
            ::every
        ]:
            response = sdk.post(
                f"devices/{installation_id}/activities",
                [{"kind": "push_tapped", "delivery_id": delivery_id}],
            )
            assert response.status_code in (200, 201, 202), response.content
            tapped[label] += 1

    def taps_recorded() -> bool:
        """every tap is on its delivery"""
        return Delivery.objects.filter(run=test, tapped_at__isnull=False).count() == sum(
            tapped.values()
        )

    _watch(celery_worker, taps_recorded, timeout=30)

    # The wait (a minute) ends; the ETA task picks the winner and opens the rest's run.
    def finished() -> bool:
        """the winner run has sent and the campaign completed"""
        campaign.refresh_from_db()
        return campaign.status == Campaign.Status.COMPLETED

    _watch(celery_worker, finished, timeout=180)
    test.refresh_from_db()
    assert test.ab_winner == "B"
    winner_run = CampaignRun.objects.get(ab_test_run=test)
    assert winner_run.status == "completed" and winner_run.notification.title == "Variant B"
    assert test.total + winner_run.total == 500
    assert set(winner_run.deliveries.values_list("variant", "status").distinct()) == {("B", "sent")}

    # Every device got exactly one push: the tested ones their variant, the rest B.
    received = _receipts()
    assert len(received) == Device.objects.filter(app=sim_app).count() == 500
    test_tokens = dict(test.deliveries.values_list("device__push_token", "variant"))
    for token, titles in received.items():
        expected = test_tokens.get(token, "B")
        assert titles == [f"Variant {expected}"], token

    # Each step is in the audit log and on the campaign page.
    steps = list(
        AuditEntry.objects.filter(target_id=str(campaign.pk), action__startswith="campaign.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert steps == ["campaign.started", "campaign.ab_test_sent", "campaign.ab_winner_picked"]
    page = _client(marketer).get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    actions = re.findall(r'<li data-action="([\w.]+)">', page)
    assert actions == ["campaign.ab_test_sent", "campaign.ab_winner_picked"]
    assert "Winner: variant B." in page
    assert "Variant B won; it is sent to the rest of the audience." in page
