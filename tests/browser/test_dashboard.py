"""The campaign dashboard in headless Chromium: the figures of a seeded run, and the live
progress bar of a run that sends through the real worker, broker and simulator."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from campaigns.ledger.counters import runs_counter_drift
from campaigns.models import Campaign, CampaignRun
from campaigns.reports.refresh import run_report_refresh
from campaigns.services import campaign_start
from notifications.content import PushContent
from pushmarketing.core.models import AddOn
from tests.campaign_fixtures import approve
from tests.delivery_fixtures import apns_token, delivery_recorded, simulator_app
from tests.factories import (
    DeviceFactory,
    LeadFactory,
    MobileAppFactory,
    PushNotificationFactory,
    UserFactory,
)
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _addon_on() -> None:
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})


def test_dashboard_shows_the_figures_of_a_seeded_run(page, login, live_site, artifacts_dir):
    _addon_on()
    app = MobileAppFactory(name="Shop")
    run = CampaignRun.objects.create(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.COMPLETED,
        notification=PushNotificationFactory(app=app, name="Spring sale"),
        app=app,
        content=PushContent(message="hi").to_dict(),
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    outcomes = [("ios", "sent", True)] * 3 + [("android", "sent", False)] * 4
    outcomes += [("android", "failed", False), ("ios", "skipped", False)]
    for platform, status, tapped in outcomes:
        device = DeviceFactory(app=app, platform=platform, lead=LeadFactory())
        sent = timezone.now() if status == "sent" else None
        # Through the ledger: each row counted as it is inserted (and its tap).
        delivery_recorded(
            device=device,
            run=run,
            lead_id=device.lead_id,
            status=status,
            reason={"failed": "INVALID_ARGUMENT", "skipped": "push_disabled"}.get(status, ""),
            sent_at=sent,
            tapped_at=sent if tapped else None,
        )
    assert runs_counter_drift([run.pk]) == []
    run_report_refresh(run_id=run.pk)

    login(page, UserFactory(role="marketer"))
    page.goto(f"{live_site.url}/campaigns/runs/{run.pk}/dashboard/")
    assert page.inner_text("[data-k=sent-total] strong") == "7"
    assert page.inner_text("[data-k=tapped-total]") == "3"
    assert page.inner_text("[data-k=ctr-total]") == "42.9 %"  # one decimal wherever it is shown
    assert "INVALID_ARGUMENT" in page.inner_text("body")
    assert page.inner_text("#progress-percent") == "100.0"
    # Sends over time and tap decay, drawn by the vendored uPlot (no CDN), per platform.
    page.locator(".chart[data-drawn='1'] canvas").nth(1).wait_for()
    assert page.locator(".chart[data-drawn='1']").count() == 2
    sends = page.locator(".chart-card").filter(has_text="Sends over time")
    assert "Time since the first send (s)" in sends.text_content()  # a short run, in seconds
    # Values on hover: the legend shows the bucket under the cursor.
    sends.locator(".u-over").hover()
    legend = sends.locator(".u-legend").inner_text()
    assert "iOS" in legend and "Android" in legend and re.search(r"\d", legend), legend
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)


@pytest.mark.integration
def test_progress_bar_advances_while_a_campaign_sends(
    page, login, live_site, push_simulator, celery_worker, artifacts_dir
):
    _addon_on()
    app = simulator_app(push_simulator)
    push = approve(PushNotificationFactory(app=app, name="Flash sale"))
    for n in range(40):
        if n % 2:
            DeviceFactory(app=app, platform="ios", push_token=apns_token("a110", n))
        else:
            DeviceFactory(app=app, platform="android", push_token=f"ok-progress-{n}")
    # 120 a minute = two a second: the 40 sends take long enough to watch the bar move.
    campaign = Campaign.objects.create(
        name="Flash", kind=Campaign.Kind.BATCH, app=app, notification=push, throttle_per_minute=120
    )
    marketer = UserFactory(role="marketer")
    campaign_start(actor=marketer, campaign=campaign)
    run = wait_until(lambda: CampaignRun.objects.filter(campaign=campaign).first(), timeout=60)

    login(page, marketer)
    page.goto(f"{live_site.url}/campaigns/runs/{run.pk}/dashboard/")
    seen: set[float] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = page.inner_text("#progress-percent")
        seen.add(float(text))
        if float(text) == 100 and page.get_attribute("#progress", "data-finished") == "1":
            break
        page.wait_for_timeout(500)
    assert max(seen) == 100.0, f"never reached 100%: {sorted(seen)}"
    assert any(0 < value < 100 for value in seen), f"no intermediate progress: {sorted(seen)}"
    assert page.inner_text("#progress-total") == "40"
    assert page.inner_text("[data-k=sent-total] strong") == "40"
    assert "40 unique leads" in page.inner_text("body")  # the reloaded page has the final report
    page.screenshot(path=str(artifacts_dir / "dashboard-progress.png"), full_page=True)
