"""In-app messages in a real browser (headless Chromium against the live server):

- the marketer composes each of the six layouts and sees the Android and iOS frames follow
  (portrait, plus landscape for full screen), with Preview as a lead;
- an in-app campaign is created, approved and goes live; a virtual phone opens the app, sees
  the message and taps a button — all by keyboard; the dashboard shows the impression and the
  tap;
- the in-app pages fit a phone (390 px) and a laptop (1366 px) and pass axe-core;
- with the add-on off the page says why."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.storage import default_storage
from django.core.management import call_command
from playwright.sync_api import expect

from devices.models import Device
from inapp.models import InAppCampaign, InAppEvent, InAppMessage
from notifications.images import IMAGE_DIR
from pushmarketing.core.models import AddOn
from tests.composer_fixtures import sample_picture
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
BLOCKING_IMPACTS = {"serious", "critical"}
PREVIEW_BUDGET_MS = 3000
LAYOUT_FRAMES = {
    "popup_text": 2,
    "popup_image_text": 2,
    "popup_image": 2,
    "fullscreen_text": 4,
    "fullscreen_image_text": 4,
    "fullscreen_image": 4,
}


@pytest.fixture
def uploaded_images_removed():
    before = (
        set(default_storage.listdir(IMAGE_DIR)[1]) if default_storage.exists(IMAGE_DIR) else set()
    )
    yield
    for name in set(default_storage.listdir(IMAGE_DIR)[1]) - before:
        default_storage.delete(f"{IMAGE_DIR}/{name}")


@pytest.fixture
def shop(live_site, uploaded_images_removed):
    AddOn.objects.update_or_create(code=AddOn.Code.IN_APP_MESSAGES, defaults={"enabled": True})
    app = MobileAppFactory(name="Acme Shop")
    LeadFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee")
    return app


def _blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:4])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def _sideways_overflow(page) -> int:
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def test_marketer_composes_each_layout_with_live_previews(
    page, login, live_site, shop, artifacts_dir, tmp_path
):
    picture = tmp_path / "banner.png"
    picture.write_bytes(sample_picture((1200, 800)))
    login(page, UserFactory(role="marketer"))
    page.goto(f"{live_site.url}/in-app/new/")
    previews = page.locator("#inapp-preview")
    page.fill("#id_name", "Welcome")
    page.fill("#id_title", "Hi {{lead.First Name:default=there}}")
    page.fill("#id_body", "Free shipping on every order today.")
    page.fill("#id_button_1_label", "Shop now")
    expect(previews).to_contain_text("Hi there", timeout=PREVIEW_BUDGET_MS)

    # Preview as Ann: her first name replaces the default in every frame.
    page.fill("#preview-as-input", "ann")
    page.locator("#preview-as-results li[role=option]").first.click()
    expect(previews).to_contain_text("Hi Ann", timeout=PREVIEW_BUDGET_MS)

    # The layout picker is a radio group: the arrow keys move through the layouts.
    page.locator("input[name=layout][value=popup_text]").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("input[name=layout][value=popup_image_text]")).to_be_checked()
    expect(previews.locator('.inapp-msg[data-layout="popup_image_text"]')).to_have_count(
        2, timeout=PREVIEW_BUDGET_MS
    )

    for layout, frames in LAYOUT_FRAMES.items():
        page.check(f"input[name=layout][value={layout}]")
        expect(previews.locator(f'.inapp-msg[data-layout="{layout}"]')).to_have_count(
            frames, timeout=PREVIEW_BUDGET_MS
        )
        expect(previews.locator(".inapp-phone")).to_have_count(frames)
        if "image" in layout and not page.input_value("[name=image_name]"):
            # Without an image the frames show where it goes; the upload fills it in.
            expect(previews.locator(".inapp-image.placeholder").first).to_be_visible()
            page.set_input_files("#id_image_file", str(picture))
            expect(previews.locator("img.inapp-image")).to_have_count(
                frames, timeout=PREVIEW_BUDGET_MS
            )
        if layout.endswith("_image"):
            expect(previews.locator(".inapp-title")).to_have_count(0)
            expect(page.locator("#id_body")).to_be_hidden()
        else:
            expect(previews.locator(".inapp-title").first).to_have_text("Hi Ann")
            expect(previews.locator(".inapp-button").first).to_have_text("Shop now")
        if frames == 4:
            expect(previews.locator('[data-orientation="landscape"]')).to_have_count(2)
        page.screenshot(path=str(artifacts_dir / f"inapp_composer_{layout}.png"), full_page=True)

    # Low contrast warns with the ratio; the text colour is a colour picker.
    page.check("input[name=layout][value=popup_text]")
    page.locator("#id_text_color").evaluate(
        "el => { el.value = '#dddddd'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(previews.locator('[data-note="contrast"]')).to_contain_text(
        "#dddddd", timeout=PREVIEW_BUDGET_MS
    )
    page.locator("#id_text_color").evaluate(
        "el => { el.value = '#1f2328'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(previews.locator('[data-note="contrast"]')).to_have_count(0, timeout=PREVIEW_BUDGET_MS)

    # A deep link per platform, then save: a draft with the button's actions.
    page.select_option("#id_button_1_android_action", "deep_link")
    page.fill("#id_button_1_android_uri", "acme://sale")
    page.click("#save-btn")
    expect(page.locator(".msg-success")).to_contain_text("as a draft")
    message = InAppMessage.objects.get()
    assert message.layout == "popup_text"
    assert message.buttons[0]["android"] == {"action": "deep_link", "uri": "acme://sale"}
    assert message.buttons[0]["ios"]["action"] == "dismiss"


def _press(page, locator) -> None:
    """Reach a control with the keyboard: focus it, then Enter (as a keyboard user would)."""
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


def test_campaign_goes_live_a_virtual_phone_taps_and_the_dashboard_counts(
    browser, login, live_site, shop, artifacts_dir
):
    marketer, approver = UserFactory(role="marketer"), UserFactory(role="approver")
    lead = LeadFactory(email="grace@example.com", first_name="Grace")
    DeviceFactory(app=shop, platform="android", lead=lead, installation_id="grace-pixel")
    contexts = []

    def page_for(user, viewport):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        new_page = context.new_page()
        new_page.on("dialog", lambda dialog: dialog.accept())
        login(new_page, user)
        return new_page

    try:
        m = page_for(marketer, LAPTOP)
        a = page_for(approver, LAPTOP)
        # The marketer writes the message; the approver approves it.
        m.goto(f"{live_site.url}/in-app/new/")
        m.fill("#id_name", "Welcome pop-up")
        m.fill("#id_title", "Hi {{lead.First Name:default=there}}")
        m.fill("#id_body", "20% off today")
        m.fill("#id_button_1_label", "Shop now")
        m.fill("#id_button_2_label", "Later")
        m.click("#save-btn")
        expect(m.locator(".msg-success")).to_be_visible()
        message = InAppMessage.objects.get()
        a.goto(f"{live_site.url}/in-app/{message.pk}/")
        _press(a, a.get_by_role("button", name="Approve"))
        expect(a.locator(".msg-success")).to_contain_text("Approved")

        # The campaign: built by the marketer (audience row + live count), approved live.
        m.goto(f"{live_site.url}/in-app/campaigns/new/?message={message.pk}")
        m.fill("#id_name", "Welcome on open")
        m.click("#add-row")
        m.locator(".audience-row select[aria-label=value]").select_option("android")
        expect(m.locator("#count-body")).to_contain_text("1 device (1 lead)", timeout=5000)
        m.click("button[type=submit].primary")
        expect(m.locator(".msg-success")).to_contain_text("created")
        campaign = InAppCampaign.objects.get()
        a.goto(f"{live_site.url}/in-app/campaigns/{campaign.pk}/")
        _press(a, a.get_by_role("button", name="Approve and go live"))
        expect(a.locator("#campaign-status")).to_contain_text("Live")

        # A phone-sized virtual device opens the app, sees the message, taps "Shop now".
        phone = page_for(marketer, PHONE)
        phone.goto(f"{live_site.url}/in-app/virtual-devices/?app={shop.pk}")
        grace = phone.locator('section.inapp-device[data-installation="grace-pixel"]')
        _press(phone, grace.get_by_role("button", name="Open the app"))
        grace = phone.locator('section.inapp-device[data-installation="grace-pixel"]')
        expect(grace.locator(".inapp-title")).to_have_text("Hi Grace")
        assert _sideways_overflow(phone) == 0
        assert _blocking_violations(phone) == []
        phone.screenshot(path=str(artifacts_dir / "inapp_virtual_phone.png"), full_page=True)
        _press(phone, grace.get_by_role("button", name="Shop now"))
        expect(phone.locator(".msg-success")).to_contain_text("tap on button 1")
        device = Device.objects.get(installation_id="grace-pixel")
        assert InAppEvent.objects.filter(device=device, kind="impression").count() == 1
        assert InAppEvent.objects.filter(device=device, kind="tap", target="button1").count() == 1

        # The dashboard shows the impression and the tap.
        m.goto(f"{live_site.url}/in-app/campaigns/{campaign.pk}/dashboard/")
        expect(m.locator('[data-k="impressions-total"]')).to_have_text("1")
        expect(m.locator('[data-k="taps-button1"]')).to_have_text("1")
        expect(m.locator('[data-k="ctr-total"]')).to_have_text("100.0 %")
        m.locator('.chart[data-key="taps"] canvas').first.wait_for()
        m.screenshot(path=str(artifacts_dir / "inapp_dashboard.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def demo(live_site, settings, tmp_path):
    """seed_demo (both add-ons on, the Demo Shop with its live in-app campaign) plus one
    impression and one tap so the dashboard has figures."""
    settings.DEBUG = True
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.PUSH_SIMULATOR_DIR = tmp_path / "simulator"
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    campaign = InAppCampaign.objects.get()
    device = Device.objects.filter(app=campaign.app, lead__isnull=False).first()
    from inapp.services.events import inapp_event_record

    for kind, target in (("impression", ""), ("tap", "button1")):
        inapp_event_record(
            app_id=device.app_id,
            installation_id=device.installation_id,
            campaign_id=campaign.pk,
            kind=kind,
            target=target,
        )
    return {
        "messages": "/in-app/",
        "composer (new)": "/in-app/new/",
        "composer (edit)": f"/in-app/{campaign.message_id}/edit/",
        "message": f"/in-app/{campaign.message_id}/",
        "campaigns": "/in-app/campaigns/",
        "campaign": f"/in-app/campaigns/{campaign.pk}/",
        "campaign editor": f"/in-app/campaigns/{campaign.pk}/edit/",
        "dashboard": f"/in-app/campaigns/{campaign.pk}/dashboard/",
        "virtual devices": "/in-app/virtual-devices/",
    }


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390x844", "1366x768"])
def test_inapp_pages_fit_the_window_and_pass_axe(browser, login, live_site, demo, viewport):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, UserFactory(role="admin"))
        problems = []
        for name, path in demo.items():
            page.goto(live_site.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("main h1").count() >= 1, f"{name} did not render ({path})"
            overflow = _sideways_overflow(page)
            if overflow:
                problems.append(f"{name}: scrolls sideways by {overflow}px")
            problems += [f"{name}: {v}" for v in _blocking_violations(page)]
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def test_addon_off_the_in_app_page_says_why(page, login, live_site):
    login(page, UserFactory(role="marketer"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="In-app messages").click()
    expect(page.locator("main h1")).to_have_text("In-app messages are off")
    expect(page.locator("#inapp-off-reason")).to_contain_text("ask an admin to enable it")


FOCUS_RING = """el => {
  const s = getComputedStyle(el);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


def _stops_without_a_ring(page, limit: int = 150) -> list[str]:
    """Tab through the whole page; every stop must draw a ring a keyboard user can see."""
    without_ring, first = [], None
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if page.evaluate("el => el === document.body", focused):
            break
        html = page.evaluate("el => el.outerHTML.slice(0, 80)", focused)
        if html == first:
            break
        first = first or html
        if not page.evaluate(FOCUS_RING, focused):
            without_ring.append(html)
    return without_ring


def test_every_tab_stop_on_the_in_app_pages_shows_a_focus_ring(browser, login, live_site, demo):
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, UserFactory(role="admin"))
        missing = []
        for name, path in demo.items():
            page.goto(live_site.url + path)
            page.wait_for_load_state("networkidle")
            missing += [f"{name}: {html}" for html in _stops_without_a_ring(page)]
        assert missing == [], "\n".join(missing)
    finally:
        context.close()
