"""What cannot be undone asks first, in numbers, and nothing happens when the marketer says
no: Send now, Send again, Resume, Turn Mobile Push off. Also: a blank new push is quiet until
the marketer leaves a field."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.ledger.runs import run_open
from campaigns.models import Campaign, CampaignRun
from pushmarketing.core.addons import addon_set_enabled, mobile_push_enabled
from tests.campaign_fixtures import approve, configure_app, device
from tests.factories import MobileAppFactory, PushNotificationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(live_site):
    addon_set_enabled(enabled=True, actor=None)
    app = configure_app(MobileAppFactory(name="Acme Shop"))
    for _ in range(3):
        device(app)
    device(app, push_enabled=False)
    return app


def _campaign(app, **fields) -> Campaign:
    push = approve(PushNotificationFactory(app=app, name="Spring sale push"))
    return Campaign.objects.create(
        name="Spring sale", kind=Campaign.Kind.BATCH, app=app, notification=push, **fields
    )


class Dialogs:
    """Answers every confirm() on the page (dismiss unless told to accept) and keeps its text."""

    def __init__(self, page, *, accept: bool) -> None:
        self.accept = accept
        self.asked: list[str] = []
        page.on("dialog", self._handle)

    def _handle(self, dialog) -> None:
        self.asked.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def _answer(page, *, accept: bool) -> list[str]:
    return Dialogs(page, accept=accept).asked


def test_dismissing_send_now_sends_nothing(page, login, live_site, shop):
    campaign = _campaign(shop)
    login(page, UserFactory(role="marketer"))
    asked = _answer(page, accept=False)
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Send now").click()
    page.wait_for_timeout(500)
    assert asked == ["Send to 4 devices (3 eligible) now?"]
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not CampaignRun.objects.filter(campaign=campaign).exists(), "no run is opened"


def test_dismissing_send_again_sends_nothing(page, login, live_site, shop):
    campaign = _campaign(shop, status=Campaign.Status.COMPLETED)
    login(page, UserFactory(role="marketer"))
    asked = _answer(page, accept=False)
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Send again").click()
    page.wait_for_timeout(500)
    assert asked == ["Send again to 4 devices (3 eligible) now?"]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert not CampaignRun.objects.filter(campaign=campaign).exists(), "no run is opened"


def test_dismissing_resume_keeps_the_campaign_paused(page, login, live_site, shop):
    campaign = _campaign(shop, status=Campaign.Status.PAUSED)
    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.PAUSED,
        notification_id=campaign.notification_id,
        app_id=shop.pk,
        content={},
        now=timezone.now(),
        campaign_id=campaign.pk,
    )
    login(page, UserFactory(role="marketer"))
    asked = _answer(page, accept=False)
    page.goto(f"{live_site.url}/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_timeout(500)
    assert len(asked) == 1 and asked[0].startswith("Resume sending?")
    campaign.refresh_from_db()
    run.refresh_from_db()
    assert (campaign.status, run.status) == ("paused", "paused")


def test_turning_the_addon_off_asks_with_numbers_then_does_it(page, login, live_site, shop):
    _campaign(shop, status=Campaign.Status.RUNNING)
    login(page, UserFactory(role="admin"))
    dialogs = Dialogs(page, accept=False)
    page.goto(f"{live_site.url}/settings/")
    page.get_by_role("button", name="Turn Mobile Push off").click()
    page.wait_for_timeout(500)
    assert dialogs.asked == [
        "Turn Mobile Push off? 1 campaign is running, 0 deliveries are queued and will be skipped."
    ]
    assert mobile_push_enabled(), "dismissed: the add-on stays on"
    dialogs.accept = True
    page.get_by_role("button", name="Turn Mobile Push off").click()
    expect(page.get_by_role("button", name="Turn Mobile Push on")).to_be_visible()
    assert not mobile_push_enabled()


def test_a_blank_new_push_shows_no_error_until_the_field_is_left(page, login, live_site, shop):
    login(page, UserFactory(role="marketer"))
    page.goto(f"{live_site.url}/notifications/new/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # the first preview answer is in
    errors = page.locator('[data-errors-for="message"]')
    expect(errors).to_have_text("")
    page.locator("[name=message]").focus()
    page.locator("[name=title]").focus()
    expect(errors).to_contain_text("The message is required.")


def test_an_unfilled_filter_row_is_not_an_error_until_it_is_left(page, login, live_site, shop):
    approve(PushNotificationFactory(app=shop, name="Spring sale push"))
    login(page, UserFactory(role="marketer"))
    failed: list[str] = []
    page.on(
        "response",
        lambda r: failed.append(r.url) if r.status >= 400 and "audience-count" in r.url else None,
    )
    page.goto(f"{live_site.url}/campaigns/new/?kind=batch")
    page.get_by_role("button", name="+ Add filter").click()
    page.locator("#audience-rows .audience-row select").first.select_option("lead_field")
    page.wait_for_timeout(800)  # the debounced count has answered
    count = page.locator("#count-body")
    expect(count).to_contain_text("devices")
    expect(count).to_contain_text("1 filter is not filled in yet and not counted.")
    assert "required" not in count.inner_text()
    expect(page.locator(".row-problem:visible")).to_have_count(0)
    assert failed == [], f"no request fails while a row is being filled in: {failed}"
    page.get_by_label("lead field").fill("City")
    page.get_by_label("value").focus()
    page.get_by_label("lead field").focus()
    expect(page.locator(".row-problem")).to_have_text("Enter a value to compare with.")
    page.get_by_label("value").fill("London")
    expect(page.locator(".row-problem:visible")).to_have_count(0)
