"""The demo closes the loop, in the browser, with a real worker and the push simulator.

*Send now* on a campaign → the push appears in the Virtual devices inbox (left open, never
reloaded) → the marketer taps it there → the run dashboard (left open, never reloaded) shows
Received 1, Tapped 1 and the tap-through rate. The tap goes through the SDK's activities
service for the phone's app, as the app's own report would."""

from __future__ import annotations

import re
import time

import pytest

from campaigns.models import Campaign, CampaignRun, Delivery
from devices.models import DeviceActivity
from pushmarketing.core.models import AddOn
from tests.api_fixtures import clear_throttle_counts
from tests.campaign_fixtures import approve
from tests.delivery_fixtures import simulator_app
from tests.factories import DeviceFactory, LeadFactory, PushNotificationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 60
SEEN_TIMEOUT_MS = 30_000
TOKEN = "ok-demo-loop-" + "d" * 120  # FCM tokens are 100-255 characters


def _wait_for_run(campaign: Campaign) -> CampaignRun:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = CampaignRun.objects.filter(campaign=campaign, kind="batch").first()
        if run is not None:
            return run
        time.sleep(0.2)
    raise AssertionError("Send now did not open a run")


def _mark_page(page) -> None:
    """A flag that only survives as long as the page is never reloaded."""
    page.evaluate("window.__notReloaded = true")


def _assert_not_reloaded(page, what: str) -> None:
    assert page.evaluate("window.__notReloaded === true"), f"the {what} reloaded itself"


def test_send_now_then_tap_in_the_virtual_inbox_shows_on_the_dashboard(
    page, login, live_site, push_simulator, celery_worker, settings, artifacts_dir
):
    settings.PUSH_SIMULATOR_ENABLED = True
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    clear_throttle_counts()
    app = simulator_app(push_simulator)
    push = approve(
        PushNotificationFactory(
            app=app, name="Spring sale push", title="Spring sale", message="20% off today"
        )
    )
    lead = LeadFactory(email="jane@example.com")
    device = DeviceFactory(
        app=app, platform="android", push_token=TOKEN, lead=lead, test_device_name="Jane's Pixel"
    )
    marketer = UserFactory(role="marketer")
    campaign = Campaign.objects.create(
        name="Spring sale",
        kind=Campaign.Kind.BATCH,
        app=app,
        notification=push,
        created_by=marketer,
    )
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before sending, if any
    login(page, marketer)

    # The inbox is open before anything is sent, and is never reloaded.
    inbox = page.context.new_page()
    inbox.on("dialog", lambda dialog: dialog.accept())
    inbox.goto(f"{live_site.url}/virtual-devices/")
    assert "No virtual device has received a push yet" in inbox.inner_text("main, body")
    _mark_page(inbox)

    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Send now").click()
    page.wait_for_load_state("networkidle")
    run = _wait_for_run(campaign)
    dashboard = page.context.new_page()
    dashboard.goto(f"{live_site.url}/campaigns/runs/{run.pk}/dashboard/")
    _mark_page(dashboard)

    # The push lands on Jane's phone without a reload.
    phone = inbox.locator("section.phone").filter(has_text="Jane's Pixel")
    phone.get_by_text("Spring sale").first.wait_for(timeout=SEEN_TIMEOUT_MS)
    tap = phone.get_by_role("button", name=re.compile(r"^Tap"))
    tap.wait_for(timeout=SEEN_TIMEOUT_MS)
    inbox.screenshot(path=str(artifacts_dir / "demo_loop_inbox_before_tap.png"), full_page=True)
    tap.click()
    phone.get_by_text("Tapped ✓").wait_for(timeout=SEEN_TIMEOUT_MS)
    _assert_not_reloaded(inbox, "inbox")

    delivery = Delivery.objects.get(run=run, device=device)
    assert delivery.tapped_at is not None and delivery.received_at is not None
    assert DeviceActivity.objects.filter(
        device=device, kind="push_tapped", delivery_id=delivery.pk
    ).exists()

    # The dashboard, left open, shows the tap and the tap-through rate.
    tapped = dashboard.locator('[data-k="tapped-total"]')
    ctr = dashboard.locator('[data-k="ctr-total"]')
    deadline = time.monotonic() + SEEN_TIMEOUT_MS / 1000
    seen = ("", "")
    while time.monotonic() < deadline:
        try:
            seen = (tapped.inner_text().strip(), ctr.inner_text().strip())
        except Exception:  # noqa: BLE001 - the figures are being replaced: look again
            seen = ("", "")
        if seen == ("1", "100.0 %"):
            break
        dashboard.wait_for_timeout(300)
    assert seen == ("1", "100.0 %"), f"the dashboard shows Tapped {seen[0]!r}, rate {seen[1]!r}"
    received = dashboard.locator("tr").filter(has_text="Received on the device")
    assert received.locator("td").last.inner_text().strip() == "1"
    _assert_not_reloaded(dashboard, "run dashboard")

    # The charts are drawn (uPlot canvas) with their data table beside them.
    sends = dashboard.locator(".chart-card").filter(has_text="Sends over time")
    sends.locator("canvas").first.wait_for(timeout=SEEN_TIMEOUT_MS)
    assert "Time since the first send (s)" in sends.text_content()
    # Tap decay fills in too: the tap flagged the run's report, the open dashboard asked for
    # a refresh, and the refreshed figures arrive in place.
    decay = dashboard.locator(".chart-card").filter(has_text="Tap decay")
    decay.locator(".chart[data-drawn='1'] canvas").first.wait_for(timeout=SEEN_TIMEOUT_MS)
    _assert_not_reloaded(dashboard, "run dashboard")
    dashboard.screenshot(path=str(artifacts_dir / "demo_loop_dashboard.png"), full_page=True)

    # The "app in foreground" switch flips in place (new pushes then show as in-app banners).
    switch = phone.get_by_role("switch", name="App in foreground")
    switch.click()
    phone.locator('[role="switch"][aria-checked="true"]').wait_for(timeout=SEEN_TIMEOUT_MS)
    _assert_not_reloaded(inbox, "inbox")
    inbox.screenshot(path=str(artifacts_dir / "demo_loop_inbox.png"), full_page=True)
