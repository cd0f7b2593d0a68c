"""The composer's languages: translation rows saved with the push, previews per locale, the
audience's locales with counts, and Preview as a lead in their device's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from devices.models import PushCredential
from notifications import services
from notifications.models import PushNotification
from notifications.selectors import audience_locales, lead_device_locale
from tests.composer_fixtures import fresh_lead_field_cache  # noqa: F401 - fixture
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(addon_on):
    app = MobileAppFactory(name="Acme", ios_bundle_id="com.acme")
    for platform in ("ios", "android"):
        PushCredential.objects.create(app=app, platform=platform, kind="x", secret_encrypted="x")
    cache.clear()
    return app


def _post(app, translations=(), **overrides):  # noqa: ANN001, ANN202
    data = {
        "app": app.pk,
        "name": "Spring",
        "android_enabled": "on",
        "ios_enabled": "on",
        "title": "Sale",
        "message": "Hi {{lead.First Name:default=there}}",
        "tap_action": "app_home",
        "ios_sound": "on",
        "android_sound": "default",
        "ttl_seconds": "3600",
        "priority": "high",
        **overrides,
    }
    for name in ("locale", "title", "subtitle", "message", "tap_uri", "image"):
        data[f"tr_{name}"] = [row.get(name, "") for row in translations]
    return data


FRENCH = {"locale": "fr", "title": "Soldes", "message": "Bonjour {{lead.First Name:default=toi}}"}


def test_saving_the_composer_saves_its_translations(app, marketer_client):
    response = marketer_client.post(
        reverse("notification-create"),
        _post(app, [FRENCH, {"locale": "de-DE", "message": "Hallo"}, {}]),
    )
    assert response.status_code == 302
    push = PushNotification.objects.get()
    assert list(push.translations.values_list("locale", "message")) == [
        ("de_DE", "Hallo"),
        ("fr", FRENCH["message"]),
    ]
    page = marketer_client.get(reverse("notification-edit", args=[push.pk])).content.decode()
    assert 'name="tr_locale" value="de_DE"' in page and "Bonjour {{lead.First Name" in page

    # Removing a row removes the translation.
    marketer_client.post(reverse("notification-edit", args=[push.pk]), _post(app, [FRENCH]))
    assert list(push.translations.values_list("locale", flat=True)) == ["fr"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"locale": "fr", "message": ""}], "Translation 'fr', message: is required."),
        ([{"locale": "french", "message": "x"}], "Translation 'french', locale: must be a"),
        ([FRENCH, {**FRENCH, "locale": "FR"}], "Translation 'fr', locale: one translation per"),
        ([{"locale": "fr", "message": "{{lead.Shoe:default=1}}"}], "no field named 'Shoe'"),
    ],
)
def test_bad_rows_are_refused_under_languages(app, marketer_client, rows, expected):
    response = marketer_client.post(reverse("notification-create"), _post(app, rows))
    assert response.status_code == 200
    assert expected in " ".join(response.context["form"].errors["translations"])
    assert not PushNotification.objects.exists()


def test_preview_switches_language_and_meter(app, marketer_client):
    long_french = {**FRENCH, "message": "Bonjour " + "é" * 1500}
    data = _post(app, [long_french, {"locale": "fr_CA", "message": "Allô"}])
    url = reverse("notification-preview")

    default = marketer_client.post(url, data).json()
    french = marketer_client.post(url, {**data, "preview_locale": "fr_BE"}).json()
    quebec = marketer_client.post(url, {**data, "preview_locale": "fr-ca"}).json()

    assert default["android"]["collapsed"]["body"]["text"] == "Hi there"
    assert default["language"] == {
        "device_locale": "",
        "translation": "",
        "translations": ["fr", "fr_CA"],
    }
    assert french["language"]["translation"] == "fr"
    assert french["ios"]["banner"]["title"]["text"] == "Soldes"
    assert french["meter"]["android"]["bytes"] > default["meter"]["android"]["bytes"] + 2000
    assert quebec["android"]["collapsed"]["body"]["text"] == "Allô"
    assert quebec["language"]["device_locale"] == "fr_CA"


def test_preview_as_a_lead_uses_their_device_locale(app, marketer_client):
    lead = LeadFactory(first_name="Luc")
    DeviceFactory(app=app, lead=lead, locale="fr_CA")
    data = {**_post(app, [FRENCH]), "preview_lead": lead.pk}
    result = marketer_client.post(reverse("notification-preview"), data).json()
    assert result["language"]["translation"] == "fr"
    assert result["android"]["collapsed"]["body"]["text"] == "Bonjour Luc"
    # A language picked above the previews wins over the lead's device.
    picked = marketer_client.post(
        reverse("notification-preview"), {**data, "preview_locale": "en"}
    ).json()
    assert picked["android"]["collapsed"]["body"]["text"] == "Hi Luc"


def test_audience_locales_are_counted_and_missing_translations_shown(app, marketer_client):
    for locale, n in (("fr_CA", 3), ("fr-ca", 1), ("fr_FR", 2), ("ja_JP", 2), ("", 1)):
        for _ in range(n):
            DeviceFactory(app=app, locale=locale, platform="android")
    DeviceFactory(app=app, locale="de_DE", push_enabled=False)  # not reachable
    DeviceFactory(app=MobileAppFactory(), locale="it_IT")  # another app's
    result = marketer_client.post(reverse("notification-preview"), _post(app, [FRENCH])).json()
    assert result["audience_locales"] == [
        {"locale": "fr_CA", "devices": 4, "translation": "fr"},
        {"locale": "fr_FR", "devices": 2, "translation": "fr"},
        {"locale": "ja_JP", "devices": 2, "translation": ""},
        {"locale": "", "devices": 1, "translation": ""},
    ]


def test_audience_locales_is_one_grouped_query_then_cached(app, django_assert_num_queries):
    for locale in ("fr_CA", "fr_FR", "de_DE", "ja_JP") * 5:
        DeviceFactory(app=app, locale=locale)
    with django_assert_num_queries(1):
        first = audience_locales(app_id=app.pk)
    with django_assert_num_queries(0):
        assert audience_locales(app_id=app.pk) == first
    assert sum(n for _, n in first) == 20


def test_lead_device_locale_is_the_most_recently_opened_device(app):
    lead = LeadFactory()
    now = timezone.now()
    DeviceFactory(app=app, lead=lead, locale="de_DE", last_opened_at=now - timedelta(days=2))
    DeviceFactory(app=app, lead=lead, locale="fr_CA", last_opened_at=now)
    DeviceFactory(app=app, lead=lead, locale="ja_JP", last_opened_at=None)
    DeviceFactory(app=MobileAppFactory(), lead=lead, locale="it_IT", last_opened_at=now)
    assert lead_device_locale(lead=lead, app_id=app.pk) == "fr_CA"
    assert lead_device_locale(lead=LeadFactory(), app_id=app.pk) == ""


def test_detail_page_lists_translations_for_the_approver(app, approver_client, marketer_user):
    push = PushNotificationFactory(app=app)
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    page = approver_client.get(reverse("notification-detail", args=[push.pk])).content.decode()
    assert "Soldes" in page and 'name="tr_locale" value="fr"' in page
    assert "Approving the push approves every language." in page
