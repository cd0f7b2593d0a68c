"""Composing translations in a real browser: per-locale previews and payload meter, the
audience's locales with the translation each gets, Preview as a lead in their language."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devices.models import PushCredential
from notifications import services
from notifications.models import PushNotification
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRENCH_MESSAGE = "Bonjour {{lead.First Name:default=toi}}, -20 % sur tout le magasin aujourd'hui."


@pytest.fixture
def shop(live_site):
    from django.core.cache import cache

    from pushmarketing.core.addons import addon_set_enabled

    cache.clear()  # the audience's locales are cached per app id, reused by this database
    addon_set_enabled(enabled=True, actor=None)
    app = MobileAppFactory(name="Acme Shop", ios_bundle_id="com.acme.shop")
    for platform in ("ios", "android"):
        PushCredential.objects.create(app=app, platform=platform, kind="x", secret_encrypted="x")
    for locale, count in (("fr_CA", 3), ("fr-FR", 1), ("ja_JP", 2)):
        for _ in range(count):
            DeviceFactory(app=app, locale=locale)
    ann = LeadFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee")
    DeviceFactory(app=app, lead=ann, locale="fr_BE")
    return app


def test_composing_translations_with_per_locale_previews(
    page, login, live_site, shop, artifacts_dir
):
    login(page, UserFactory(username="mia-marketer", role="marketer"))
    page.goto(f"{live_site.url}/notifications/new/")
    android = page.locator("#preview-android")
    ios = page.locator("#preview-ios")
    audience = page.locator("#audience-locales")
    meter = page.locator('[data-meter="android"] .meter-text')

    page.fill("#id_name", "Spring sale")
    page.fill("#id_title", "Spring sale")
    page.fill("#id_message", "Hi {{lead.First Name:default=there}}, 20% off today.")
    expect(android).to_contain_text("Hi there, 20% off")

    # The audience's locales, before any translation: all get the default.
    expect(audience.locator("tr[data-locale=fr_CA]")).to_contain_text("3")
    expect(audience.locator("tr[data-locale=fr_CA]")).to_contain_text("no translation")
    expect(audience.locator("tr[data-locale=fr_FR]")).to_contain_text("1")
    expect(audience.locator("tr.missing")).to_have_count(4)  # fr_CA, fr_FR, fr_BE, ja_JP
    default_meter = meter.inner_text()

    # Add French: fr_CA, fr_FR and fr_BE now get it, ja_JP still lacks a translation.
    page.click("#translation-add")
    row = page.locator("[data-translation]").first
    row.locator("[name=tr_locale]").fill("fr")
    row.locator("[name=tr_title]").fill("Soldes de printemps")
    row.locator("[name=tr_message]").fill(FRENCH_MESSAGE)
    expect(audience.locator("tr[data-locale=fr_CA]")).to_contain_text("The fr translation")
    expect(audience.locator("tr[data-locale=ja_JP]")).to_contain_text("no translation")
    expect(audience.locator("tr.missing")).to_have_count(1)

    # Preview in French: both phones and the payload meter switch.
    page.select_option("#preview-locale", "fr_CA")
    expect(android).to_contain_text("Bonjour toi, -20 %")
    expect(ios).to_contain_text("Soldes de printemps")
    expect(page.locator("#preview-language-current")).to_contain_text("fr translation")
    expect(meter).not_to_have_text(default_meter)
    page.screenshot(path=str(artifacts_dir / "composer-translations.png"), full_page=True)

    # A locale without a translation previews the default (clicking its row picks it).
    audience.locator("tr[data-locale=ja_JP]").click()
    expect(page.locator("#preview-locale")).to_have_value("ja_JP")
    expect(android).to_contain_text("Hi there, 20% off")
    expect(meter).to_have_text(default_meter)

    # Preview as Ann: her device is fr_BE, so she sees French with her name.
    page.select_option("#preview-locale", "")
    page.fill("#preview-as-input", "ann.lee")
    page.locator("#preview-as-results li", has_text="ann.lee@example.com").click()
    expect(android).to_contain_text("Bonjour Ann, -20 %")
    expect(page.locator("#preview-language-current")).to_contain_text("fr_BE")

    # A bad row is flagged live under Languages, and saving is refused.
    page.click("#translation-add")
    second = page.locator("[data-translation]").nth(1)
    second.locator("[name=tr_locale]").fill("german")
    second.locator("[name=tr_message]").fill("Hallo")
    page.click("#save-btn")
    expect(page.locator('[data-errors-for="translations"]')).to_contain_text(
        "Translation 'german', locale: must be a language code"
    )
    assert not PushNotification.objects.exists()
    page.locator("[data-translation]").nth(1).locator("[name=tr_locale]").fill("de")
    page.click("#save-btn")
    expect(page.locator(".messages")).to_contain_text("Saved")
    push = PushNotification.objects.get()
    assert list(push.translations.values_list("locale", "title")) == [
        ("de", ""),
        ("fr", "Soldes de printemps"),
    ]
    expect(page.locator("[data-translation] [name=tr_locale]").nth(1)).to_have_value("fr")


def test_approver_previews_each_language_before_approving(page, login, live_site, shop):
    marketer = UserFactory(username="mia-marketer", role="marketer")
    approver = UserFactory(username="abe-approver", role="approver")
    push = services.notification_create(
        app=shop,
        actor=marketer,
        fields={"name": "Spring sale", "title": "Spring sale", "message": "Hi there"},
        translations={"de": {"title": "Frühlingsangebot", "message": "Hallo"}},
    )
    login(page, approver)
    page.goto(f"{live_site.url}/notifications/{push.pk}/")
    android = page.locator("#preview-android")
    expect(page.get_by_text("Approving the push approves every language.")).to_be_visible()
    expect(android).to_contain_text("Hi there")
    page.select_option("#preview-locale", "de")
    expect(android).to_contain_text("Frühlingsangebot")
    page.click("#approve-btn")
    expect(page.locator(".messages")).to_contain_text("Approved")
    push.refresh_from_db()
    assert push.approved_content["translations"]["de"]["message"] == "Hallo"
