"""Layout and accessibility of the main pages in headless Chromium, at a phone (390×844) and a
laptop (1366×768): no page scrolls sideways, axe-core finds no serious or critical violation,
the sidebar becomes a menu button on a phone, a skip link comes first, every control shows a
focus ring, wide tables scroll in their card, and the composer's previews sit beside the form
(sticky) on a laptop and below it (still live) on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignRun
from campaigns.reports.refresh import run_report_refresh
from devices.models import Device
from tests.delivery_fixtures import delivery_recorded
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def demo(live_site, settings, tmp_path):
    """`seed_demo` (the add-on on, the Demo Shop app with credentials, leads, devices, an
    approved push, two campaigns) plus one finished run of the batch campaign with sends and
    taps, so the dashboard has figures. Returns the URLs of the main pages."""
    settings.DEBUG = True  # seed_demo refuses to run otherwise (it makes known passwords)
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.PUSH_SIMULATOR_DIR = tmp_path / "simulator"
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    campaign = Campaign.objects.get(kind=Campaign.Kind.BATCH)
    started = timezone.now() - timedelta(minutes=2)
    run = CampaignRun.objects.create(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.COMPLETED,
        campaign=campaign,
        notification=campaign.notification,
        app=campaign.app,
        content=campaign.notification.approved_content,
        started_at=started,
        finished_at=started + timedelta(seconds=40),
    )
    for index, device in enumerate(Device.objects.filter(app=campaign.app).order_by("pk")):
        sent = started + timedelta(seconds=3 * index)
        delivery_recorded(
            device=device,
            run=run,
            lead_id=device.lead_id,
            sent_at=sent,
            tapped_at=sent + timedelta(seconds=30) if index % 3 == 0 else None,
        )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    run_report_refresh(run_id=run.pk)
    push = campaign.notification
    return {
        "overview": "/",
        "pushes": "/notifications/",
        "composer (new push)": "/notifications/new/",
        "composer (edit)": f"/notifications/{push.pk}/edit/",
        "campaigns": "/campaigns/",
        "campaign": f"/campaigns/{campaign.pk}/",
        "run dashboard": f"/campaigns/runs/{run.pk}/dashboard/",
        "leads": "/leads/",
        "devices": "/devices/",
        "apps": "/apps/",
        "app (push setup, test devices)": f"/apps/{campaign.app_id}/",
        "settings": "/settings/",
        "system health": "/system/health/",
    }


@pytest.fixture
def admin_page(browser, live_site, login, demo):
    """A page logged in as an admin (who may open every main page); sized per test."""
    contexts = []

    def open_at(viewport: dict[str, int]):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        login(page, UserFactory(role="admin"))
        return page

    yield open_at
    for context in contexts:
        context.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _sideways_overflow(page) -> int:
    """How many pixels the document is wider than the window (0 = no sideways scroll)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def _blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:4])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390x844", "1366x768"])
def test_main_pages_fit_the_window_and_pass_axe(admin_page, live_site, demo, viewport):
    page = admin_page(viewport)
    problems = []
    for name, path in demo.items():
        _open(page, live_site.url + path)
        assert page.locator("main h1").count() >= 1, f"{name} did not render ({path})"
        overflow = _sideways_overflow(page)
        if overflow:
            problems.append(f"{name}: scrolls sideways by {overflow}px")
        problems += [f"{name}: {v}" for v in _blocking_violations(page)]
    assert problems == [], "\n".join(problems)


def test_phone_sidebar_is_a_menu_button_that_escape_closes(admin_page, live_site):
    page = admin_page(PHONE)
    _open(page, live_site.url + "/campaigns/")
    button = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "main-nav")
    expect(nav).to_be_hidden()

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Devices", exact=True)).to_be_visible()
    page.keyboard.press("Tab")  # into the open menu
    assert page.evaluate("document.activeElement.closest('#main-nav') !== null")

    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "menu-button"

    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Devices", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Devices")


def test_laptop_sidebar_is_always_open_without_a_menu_button(admin_page, live_site):
    page = admin_page(LAPTOP)
    _open(page, live_site.url + "/campaigns/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Devices", exact=True)
    ).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390x844", "1366x768"])
def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(admin_page, live_site, viewport):
    page = admin_page(viewport)
    _open(page, live_site.url + "/notifications/new/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the main content, not the sidebar
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


# A ring the eye finds: an outline at least 2 px wide (Chromium's default is a 1 px "auto").
FOCUS_RING = """el => {
  const s = getComputedStyle(el);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


def _stops_without_a_ring(page, limit: int = 120) -> list[str]:
    """Tab through the whole page; every stop must draw a ring."""
    without_ring = []
    first = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if page.evaluate("el => el === document.body", focused):
            break
        html = page.evaluate("el => el.outerHTML.slice(0, 80)", focused)
        if html == first:  # wrapped around
            break
        first = first or html
        if not page.evaluate(FOCUS_RING, focused):
            without_ring.append(html)
    return without_ring


def test_every_tab_stop_on_the_main_pages_shows_a_focus_ring(admin_page, live_site, demo):
    page = admin_page(LAPTOP)
    missing = []
    for name, path in demo.items():
        _open(page, live_site.url + path)
        missing += [f"{name}: {html}" for html in _stops_without_a_ring(page)]
    assert missing == [], "\n".join(missing)


def test_preview_as_options_and_preview_views_show_a_focus_ring(admin_page, live_site, demo):
    page = admin_page(LAPTOP)
    _open(page, live_site.url + demo["composer (edit)"])

    # The Preview-as options are reached with the arrow keys from the search box.
    page.click("#preview-as-input")
    page.keyboard.type("ada")
    expect(page.locator("#preview-as-results li[role=option]").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    option = page.evaluate_handle("document.activeElement")
    assert page.evaluate("el => el.getAttribute('role')", option) == "option"
    assert page.evaluate(FOCUS_RING, option)
    # The preview views ("Home", "Lock", …) too, moved between with the arrow keys.
    page.locator("#preview-ios .seg button").first.focus()
    page.keyboard.press("ArrowRight")
    moved = page.evaluate_handle("document.activeElement")
    assert page.evaluate("el => el.dataset.view", moved) == "home"
    assert page.evaluate(FOCUS_RING, moved)


def test_phone_push_setup_rows_stack_with_their_buttons_on_screen(
    admin_page, live_site, demo, artifacts_dir
):
    """At 390 px the push configuration and test device tables show each row as a card, each
    cell under its column's name, so Verify and Remove are on screen, not past a scroll."""
    page = admin_page(PHONE)
    _open(page, live_site.url + demo["app (push setup, test devices)"])
    page.locator("#push-configuration").screenshot(path=str(artifacts_dir / "push-setup-390.png"))
    for button in ["Verify push configuration", "Remove"]:
        box = page.get_by_role("button", name=button).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    status = page.locator("#push-configuration td[data-label=Status]").first
    expect(status).to_be_visible()
    label = status.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Status"'
    # Still a table to a screen reader: its rows and cells keep their roles.
    assert page.get_by_role("table").count() >= 2
    expect(page.get_by_role("row").first).to_be_attached()
    assert not any(
        box.evaluate("el => el.scrollWidth > el.clientWidth + 1")
        for box in page.locator(
            "#push-configuration .table-scroll, #test-devices .table-scroll"
        ).all()
    )

    # A laptop keeps the ordinary table, with no per-cell labels drawn.
    laptop = admin_page(LAPTOP)
    _open(laptop, live_site.url + demo["app (push setup, test devices)"])
    cell = laptop.locator("#push-configuration td[data-label=Status]").first
    assert cell.evaluate("el => getComputedStyle(el, '::before').content") == "none"
    assert cell.evaluate("el => getComputedStyle(el).display") == "table-cell"


def test_wide_tables_scroll_inside_their_card_by_keyboard(admin_page, live_site):
    page = admin_page(PHONE)
    _open(page, live_site.url + "/devices/")
    box = page.locator(".table-scroll").first
    expect(box).to_have_attribute("tabindex", "0")
    expect(box).to_have_attribute("role", "region")
    assert box.get_attribute("aria-label")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert _sideways_overflow(page) == 0
    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.scrollLeft > 0", arg=box.element_handle())

    # When the table fits (a laptop), the box is no tab stop.
    laptop = admin_page(LAPTOP)
    _open(laptop, live_site.url + "/campaigns/")
    fits = laptop.locator(".table-scroll").first
    expect(fits).not_to_have_attribute("tabindex", "0")


# Whether a select's chosen option or an input's placeholder is drawn whole: its text width
# plus the padding (and a select's arrow) within the control's width.
FITS = """(el, what) => {
  const c = document.createElement('canvas').getContext('2d');
  const s = getComputedStyle(el);
  c.font = s.font;
  const text = what === 'selected' ? el.options[el.selectedIndex].text : el.placeholder;
  const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return c.measureText(text).width <= room - (what === 'selected' ? 20 : 0);
}"""


def _rect(page, selector: str) -> dict[str, float]:
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; }",
        selector,
    )


def test_laptop_composer_previews_sit_beside_the_form_and_stay_in_view(admin_page, live_site, demo):
    page = admin_page(LAPTOP)
    _open(page, live_site.url + demo["composer (edit)"])
    form, previews = _rect(page, "#composer-form"), _rect(page, "#previews")
    assert previews["left"] >= form["right"]  # beside, not below
    assert abs(previews["top"] - form["top"]) <= 2  # from the top of the form
    # "Save changes" on one line; the token picker and the sample field not cut.
    save = page.locator("#save-btn")
    assert save.evaluate("el => el.scrollWidth <= el.clientWidth && el.clientHeight < 44")
    assert page.locator("#token-field").evaluate(FITS, "selected")
    assert page.locator("#sample-lead").evaluate(FITS, "placeholder")

    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_timeout(100)
    stuck = _rect(page, "#previews")
    assert 0 <= stuck["top"] <= 20
    assert _rect(page, "#preview-android .phone")["bottom"] <= LAPTOP["height"]


def test_phone_composer_stacks_the_previews_below_and_keeps_them_live(admin_page, live_site):
    page = admin_page(PHONE)
    _open(page, live_site.url + "/notifications/new/")
    form, previews = _rect(page, "#composer-form"), _rect(page, "#previews")
    assert previews["top"] >= form["bottom"]
    assert page.locator("#token-field").evaluate(FITS, "selected")
    page.fill("#id_message", "Hello from a phone")
    expect(page.locator("#preview-android")).to_contain_text("Hello from a phone", timeout=2000)
    expect(page.locator("#preview-ios")).to_contain_text("Hello from a phone", timeout=2000)
    assert _sideways_overflow(page) == 0
    # While the message is typed, nothing floats over its box (tapped with the box at the
    # bottom of the window, where the floating link sits).
    jump = page.locator(".jump-to-previews")
    page.locator("#id_message").evaluate(
        "el => { el.scrollIntoView({block: 'end'}); el.focus({preventScroll: true}); }"
    )
    box, link = _rect(page, "#id_message"), _rect(page, ".jump-to-previews")
    overlaps = link["top"] < box["bottom"] and link["bottom"] > box["top"]
    assert not (overlaps and link["top"] < PHONE["height"]), (box, link)
    # Mid-form, not typing, a link at the bottom of the window leads to the previews (and
    # clears the bar).
    page.evaluate("document.activeElement.blur()")
    expect(jump).to_be_in_viewport()
    jump.click()
    expect(page.locator("#preview-android")).to_be_in_viewport()
    assert page.evaluate("document.querySelector('#previews').getBoundingClientRect().top") >= 56


def test_laptop_composer_has_no_jump_to_the_previews(admin_page, live_site):
    page = admin_page(LAPTOP)
    _open(page, live_site.url + "/notifications/new/")
    expect(page.locator(".jump-to-previews")).to_be_hidden()  # they sit beside the form


def test_audience_builder_rows_are_named_and_wrap_on_a_phone(admin_page, live_site):
    """The rows campaigns.js builds have no visible labels: each control needs a name."""
    page = admin_page(PHONE)
    _open(page, live_site.url + "/campaigns/new/")
    for _ in range(2):
        page.click("#add-row")
    expect(page.locator(".audience-row")).to_have_count(2)
    assert _blocking_violations(page) == []
    assert _sideways_overflow(page) == 0


def test_the_menu_marks_the_section_a_page_belongs_to(admin_page, live_site, demo):
    page = admin_page(LAPTOP)
    for url, section in [
        (demo["run dashboard"], "Campaigns"),  # /campaigns/runs/…: under Campaigns
        ("/system/token-health/", "Token health"),  # not System health (/system/health/)
        ("/", "Overview"),
    ]:
        _open(page, live_site.url + url)
        current = page.locator('#main-nav a[aria-current="page"]')
        expect(current).to_have_count(1)
        expect(current).to_have_text(section)


def test_ab_test_details_show_only_while_their_box_is_ticked(admin_page, live_site, demo):
    page = admin_page(LAPTOP)
    _open(page, live_site.url + "/campaigns/new/?kind=batch")
    details, winner = page.locator("#ab-details"), page.locator('[data-shown-by="ab_winner_mode"]')
    expect(details).to_be_hidden()
    page.get_by_label("Run an A/B test").check()
    expect(details).to_be_visible()
    expect(winner).to_be_hidden()
    page.locator("input[name=ab_winner_mode]").check()
    expect(winner).to_be_visible()
    page.get_by_label("Run an A/B test").uncheck()
    expect(details).to_be_hidden()
