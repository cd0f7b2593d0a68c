"""The A/B comparison on the campaign dashboard, in headless Chromium."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from pushmarketing.core.models import AddOn, UserPreference
from tests.abtest_fixtures import ab_campaign, ab_run_sent, seed_leads_with_devices
from tests.campaign_fixtures import configure_app
from tests.factories import MobileAppFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_compares_the_variants_side_by_side(page, login, live_site, artifacts_dir):
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = configure_app(MobileAppFactory(name="Shop"), platforms=("android",))
    seed_leads_with_devices(app=app, devices=2000)
    campaign = ab_campaign(
        app=app, shares={"A": 45, "B": 45, "C": 10}, controls=("C",), name="Spring sale A/B"
    )
    # A: one in 10 taps, B: one in 7 — over ~900 sends each, B wins clearly.
    run = ab_run_sent(campaign, tap_every={"A": 10, "B": 7})
    counts = {label: run.deliveries.filter(variant=label).count() for label in ("A", "B", "C")}

    login(page, UserFactory(role="marketer"))
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/dashboard/")
    table = page.locator("#ab-table")
    for label in ("A", "B"):
        row = table.locator(f"tr[data-variant={label}]")
        assert row.locator("[data-k=sent]").inner_text() == str(counts[label])
        assert row.locator("[data-k=held_out]").inner_text() == "0"
    taps_a = -(-counts["A"] // 10)  # every 10th row from the first: ceil(n / 10)
    assert table.locator("tr[data-variant=A] [data-k=tapped]").inner_text() == str(taps_a)
    rate = Decimal(str(round(100 * taps_a / counts["A"], 2))).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    assert table.locator("tr[data-variant=A] [data-k=ctr]").inner_text() == f"{rate} %"
    control = table.locator("tr[data-variant=C]")
    assert "Control: sends nothing" in control.inner_text()
    assert control.locator("[data-k=sent]").inner_text() == "0"
    assert control.locator("[data-k=held_out]").inner_text() == str(counts["C"])
    assert control.locator("[data-k=ctr]").inner_text() == "–"
    verdict = page.inner_text("#ab-verdict")
    assert verdict.startswith("B beats A with ") and verdict.endswith("% confidence."), verdict
    # The run's own dashboard shows the same comparison, and the campaign page links to it.
    page.click("#ab-comparison a")
    assert page.locator("#ab-table tr[data-variant=B] [data-k=sent]").inner_text() == str(
        counts["B"]
    )
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    assert "B beats A" in page.inner_text("#ab-test")
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/dashboard/")
    page.locator("#ab-comparison").screenshot(path=str(artifacts_dir / "ab-comparison.png"))


def test_the_comparison_speaks_french_to_a_french_marketer(page, login, live_site):
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = configure_app(MobileAppFactory(name="Boutique"), platforms=("android",))
    seed_leads_with_devices(app=app, devices=400)
    campaign = ab_campaign(app=app, shares={"A": 45, "B": 45, "C": 10}, controls=("C",))
    ab_run_sent(campaign, tap_every={"A": 10, "B": 10})
    marie = UserFactory(role="marketer")
    UserPreference.objects.create(user=marie, language="fr")
    login(page, marie)
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/dashboard/")
    card = page.inner_text("#ab-comparison")
    assert "Test A/B : les variantes côte à côte" in card
    assert "Contrôle : n’envoie rien" in card
    assert page.inner_text("#ab-verdict").startswith("Pas encore significatif")
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    assert "Contrôle : n’envoie rien (exclus)" in page.inner_text("#ab-test")
