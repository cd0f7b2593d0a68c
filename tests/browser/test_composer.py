"""The composer in a real browser: live previews, Preview-as, image, meter refusal, approval."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from notifications.images import IMAGE_DIR
from notifications.models import PushNotification
from tests.composer_fixtures import sample_picture
from tests.factories import LeadFactory, MobileAppFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPING_BUDGET_MS = 1000  # "sees both previews update within a second"


@pytest.fixture
def uploaded_images_removed():
    """The live server serves /media/ from the MEDIA_ROOT it started with, so uploads go to
    the real (git-ignored) media dir; remove the ones this test made."""
    before = (
        set(default_storage.listdir(IMAGE_DIR)[1]) if default_storage.exists(IMAGE_DIR) else set()
    )
    yield
    for name in set(default_storage.listdir(IMAGE_DIR)[1]) - before:
        default_storage.delete(f"{IMAGE_DIR}/{name}")


@pytest.fixture
def shop(live_site, uploaded_images_removed):
    from pushmarketing.core.addons import addon_set_enabled

    addon_set_enabled(enabled=True, actor=None)
    app = MobileAppFactory(name="Acme Shop", ios_bundle_id="com.acme.shop")
    LeadFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee")
    return app


def test_marketer_composes_previews_and_approver_approves(
    page, login, live_site, shop, artifacts_dir
):
    marketer = UserFactory(username="mia-marketer", role="marketer")
    approver = UserFactory(username="abe-approver", role="approver")
    login(page, marketer)
    page.goto(f"{live_site.url}/notifications/new/")
    android = page.locator("#preview-android")
    ios = page.locator("#preview-ios")

    page.fill("#id_name", "Spring sale")
    page.fill("#id_title", "Spring sale, ")
    page.click("#id_message")
    page.keyboard.type("Hi {{lead.First Name:default=there}}, 20% off everything today only.")
    expect(android).to_contain_text("Hi there, 20% off", timeout=TYPING_BUDGET_MS)
    expect(ios).to_contain_text("Hi there, 20% off", timeout=TYPING_BUDGET_MS)

    # The token picker inserts a token with its default at the cursor of the last field.
    page.click("#id_title")
    page.keyboard.press("End")
    page.select_option("#token-field", "First Name")
    page.fill("#token-default", "you")
    page.click("#token-insert")
    expect(page.locator("#id_title")).to_have_value("Spring sale, {{lead.First Name:default=you}}")
    expect(ios).to_contain_text("Spring sale, you")

    # An unknown field is flagged under the message, live, before saving.
    page.click("#id_message")
    page.keyboard.press("End")
    page.keyboard.type(" {{lead.Shoe Size:default=1}}")
    expect(page.locator('[data-errors-for="message"]')).to_contain_text(
        "no field named 'Shoe Size'"
    )
    for _ in range(len(" {{lead.Shoe Size:default=1}}")):
        page.keyboard.press("Backspace")
    expect(page.locator('[data-errors-for="message"]')).to_be_empty()

    # Preview as a chosen lead.
    page.fill("#preview-as-input", "ann.lee")
    page.locator("#preview-as-results li", has_text="ann.lee@example.com").click()
    expect(android).to_contain_text("Hi Ann, 20% off")
    expect(ios).to_contain_text("Hi Ann, 20% off")
    expect(android).to_contain_text("Spring sale, Ann")

    # Only enabled platforms are previewed.
    page.uncheck("#id_android_enabled")
    expect(android.locator(".platform-off")).to_be_visible()
    expect(android.locator(".phone")).to_be_hidden()
    expect(page.locator('[data-meter="android"]')).to_be_hidden()
    page.check("#id_android_enabled")
    expect(android.locator(".phone")).to_be_visible()

    # Image: uploaded on choose, shown as the Android big picture and the iOS thumbnail.
    page.set_input_files(
        "#id_image_file",
        files=[{"name": "sale.png", "mimeType": "image/png", "buffer": sample_picture()}],
    )
    expect(android.locator("img.a-picture")).to_have_attribute(
        "src", re.compile(r"/media/push-images/")
    )
    expect(ios.locator("img.i-thumb")).to_be_visible()
    # The file input is emptied after the upload; the status line says what was taken.
    expect(page.locator("#image-status")).to_have_text("Uploaded sale.png.")
    page.wait_for_function(
        "document.querySelector('#preview-android img.a-picture').naturalWidth > 0"
    )

    # Every view of each phone draws the same rendered text.
    for view, marker in [("collapsed", "a-thumb"), ("lock", "a-clock"), ("expanded", "a-picture")]:
        android.locator(f".seg button[data-view={view}]").click()
        expect(android.locator(f".{marker}")).to_be_visible()
        expect(android).to_contain_text("Hi Ann")
    for view, text in [
        ("home", "Hi Ann"),
        ("center", "Notification Center"),
        ("expanded", "20% off everything today only."),
        ("foreground", "iOS shows no banner"),
        ("lock", "Hi Ann"),
    ]:
        ios.locator(f".seg button[data-view={view}]").click()
        expect(ios).to_contain_text(text)
        if view == "foreground":
            page.locator(".phones").screenshot(path=str(artifacts_dir / "composer-foreground.png"))
    # With the keyboard: one tab stop per phone (its chosen view); the arrows choose another.
    chosen = ios.locator(".seg button[aria-checked=true]")
    expect(chosen).to_have_attribute("data-view", "lock")
    expect(ios.locator(".seg button[tabindex='0']")).to_have_count(1)
    chosen.focus()
    page.keyboard.press("ArrowRight")
    expect(ios.locator(".seg button[data-view=home]")).to_be_focused()
    expect(ios.locator(".seg button[data-view=home]")).to_have_attribute("aria-checked", "true")
    page.keyboard.press("End")
    expect(ios).to_contain_text("iOS shows no banner")
    page.keyboard.press("ArrowRight")  # wraps round to the first
    expect(ios.locator(".seg button[data-view=lock]")).to_be_focused()
    expect(ios.locator(".seg button[tabindex='0']")).to_have_attribute("data-view", "lock")
    page.screenshot(path=str(artifacts_dir / "composer.png"), full_page=True)

    # Overflow the payload with custom data: the meter says so and saving is refused.
    page.click("summary:has-text('Custom data')")
    page.locator("input[name=data_key]").first.fill("story")
    page.locator("input[name=data_value]").first.fill("x" * 4200)
    expect(page.locator('[data-meter="ios"] .meter-text')).to_contain_text("too big by")
    page.click("#save-btn")
    expect(page.locator('[data-errors-for="__all__"]')).to_contain_text("the limit is 4,096")
    assert not PushNotification.objects.exists()

    page.locator("input[name=data_value]").first.fill("spring")
    page.click("#save-btn")
    expect(page.locator(".messages")).to_contain_text("Saved")
    push = PushNotification.objects.get()
    assert push.status == PushNotification.Status.DRAFT
    assert push.custom_data == {"story": "spring"}
    assert push.image.name.startswith("push-images/")

    # A marketer sees no Approve button; the approver approves.
    page.goto(f"{live_site.url}/notifications/{push.pk}/")
    expect(page.locator("#approve-btn")).to_have_count(0)
    page.context.clear_cookies()
    login(page, approver)
    page.goto(f"{live_site.url}/notifications/{push.pk}/")
    expect(page.locator("#preview-ios")).to_contain_text("Hi there, 20% off")
    page.screenshot(path=str(artifacts_dir / "composer-detail.png"), full_page=True)
    page.screenshot(path=str(artifacts_dir / "composer-detail.png"), full_page=True)
    page.click("#approve-btn")
    expect(page.locator(".messages")).to_contain_text("Approved")
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED
    assert push.approved_content["custom_data"] == {"story": "spring"}
    assert push.approved_content["image_url"].startswith(live_site.url + "/media/push-images/")
