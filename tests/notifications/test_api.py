"""Management API: a push with its translations, and writing or removing one translation."""

from __future__ import annotations

import io
import random

import pytest
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from notifications import services
from notifications.models import PushNotification, PushTranslation
from pushmarketing.core.api_tokens import api_token_create
from pushmarketing.core.models import AuditEntry
from tests.composer_fixtures import (  # noqa: F401 - fixtures
    fresh_lead_field_cache,
    image_bytes,
    media_root,
)
from tests.factories import PushNotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:  # noqa: ANN001
    _, plaintext = api_token_create(user=user, name="CRM")
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


@pytest.fixture
def api(marketer_user) -> APIClient:  # noqa: ANN001
    return _client(marketer_user)


def _url(push: PushNotification, locale: str) -> str:
    return reverse("api-notification-translation", args=[push.pk, locale])


def test_put_creates_then_replaces_a_translation_and_the_push_reads_it(addon_on, api):
    push = PushNotificationFactory(message="Hello")
    body = {"title": "Soldes", "message": "Bonjour {{lead.First Name:default=toi}}"}
    created = api.put(_url(push, "fr-ca"), body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["locale"] == "fr_CA"
    assert created.json()["message"] == body["message"]

    replaced = api.put(_url(push, "fr_CA"), {"message": "Allô"}, format="json")
    assert replaced.status_code == 200
    assert replaced.json()["title"] == ""  # a PUT replaces the whole translation

    detail = api.get(reverse("api-notification-detail", args=[push.pk])).json()
    assert [(t["locale"], t["message"]) for t in detail["translations"]] == [("fr_CA", "Allô")]
    assert detail["approved_locales"] is None
    assert api.get(_url(push, "fr-CA")).json()["message"] == "Allô"
    assert AuditEntry.objects.filter(action="notification.translations_changed").count() == 2


@pytest.mark.parametrize(
    ("locale", "body", "field", "rule"),
    [
        ("french", {"message": "x"}, "locale", "must be a language code such as fr"),
        ("fr", {"title": "t"}, "message", "This field is required."),
        ("fr", {"message": "x", "title": "t" * 201}, "title", "no more than 200 characters"),
        ("fr", {"message": 12}, "message", "Must be a string."),
        ("fr", {"message": "x", "image": "a.png"}, "image", "Unknown field."),
        ("fr", {"message": " "}, "message", "This field may not be blank."),
        ("fr", {"message": "{{lead.Nope:default=x}}"}, "message", "no field named 'Nope'"),
        ("fr", {"message": "x", "tap_uri": "https://x.example"}, "tap_uri", "must be blank"),
    ],
)
def test_put_refuses_bad_input_naming_the_field(addon_on, api, locale, body, field, rule):
    push = PushNotificationFactory()
    response = api.put(_url(push, locale), body, format="json")
    assert response.status_code == 400, response.content
    assert rule in " ".join(response.json()["error"]["fields"][field])
    assert not push.translations.exists()


def test_changing_a_translation_of_an_approved_push_makes_a_draft(
    addon_on, api, approver_user, marketer_user
):
    push = PushNotificationFactory(message="Hello")
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"de": {"message": "Hallo"}}
    )
    services.notification_approve(notification=push, actor=approver_user)
    assert api.put(_url(push, "de"), {"message": "Servus"}, format="json").status_code == 200
    detail = api.get(reverse("api-notification-detail", args=[push.pk])).json()
    assert detail["status"] == PushNotification.Status.APPROVED_WITH_DRAFT
    assert detail["approved_locales"] == ["de"]

    assert api.delete(_url(push, "de")).json()["message"] == "Servus"
    assert api.delete(_url(push, "de")).status_code == 404
    assert api.get(_url(push, "de")).status_code == 404
    push.refresh_from_db()
    assert push.approved_content["translations"]["de"]["message"] == "Hallo"  # still sent


def test_unknown_push_and_locale_are_404(addon_on, api):
    push = PushNotificationFactory()
    assert api.get(_url(push, "fr")).status_code == 404
    assert api.get(_url(push, "not a locale")).status_code == 404
    assert (
        api.put(
            reverse("api-notification-translation", args=[push.pk + 1, "fr"]),
            {"message": "x"},
            format="json",
        ).status_code
        == 404
    )
    assert api.get(reverse("api-notification-detail", args=[push.pk + 1])).status_code == 404


def test_approvers_cannot_use_the_api(addon_on):
    push = PushNotificationFactory()
    response = _client(UserFactory(role="approver")).put(
        _url(push, "fr"), {"message": "x"}, format="json"
    )
    assert response.status_code == 403
    assert not push.translations.exists()


def test_refused_while_the_addon_is_off(api):
    push = PushNotificationFactory()
    assert api.put(_url(push, "fr"), {"message": "x"}, format="json").status_code == 403


def test_errors_stay_english_for_a_french_client(addon_on, api):
    # The UI speaks French to a French browser; the API's texts stay stable for machines.
    push = PushNotificationFactory()
    response = api.put(
        _url(push, "fr"), {"message": " x", "tap_uri": "https://x.example"}, format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["tap_uri"] == [
        "Translation 'fr', tap_uri: must be blank: the push opens the app's home screen "
        "(set a tap action first)."
    ]


# ---------- a translation's own image ----------


def _image_url(push: PushNotification, locale: str) -> str:
    return reverse("api-notification-translation-image", args=[push.pk, locale])


def _put_image(api: APIClient, url: str, body: bytes, content_type: str = "image/png"):  # noqa: ANN202
    return api.generic("PUT", url, body, content_type=content_type)


def test_a_translation_gets_its_own_image_then_goes_back_to_the_push_image(
    addon_on,
    api,
    media_root,  # noqa: F811
):
    push = PushNotificationFactory(message="Hello", status="approved")
    services.notification_approve(notification=push, actor=UserFactory(role="approver"))
    api.put(_url(push, "fr"), {"title": "Soldes", "message": "Bonjour"}, format="json")
    push.refresh_from_db()
    services.notification_approve(notification=push, actor=UserFactory(role="approver"))

    answer = _put_image(
        api, _image_url(push, "fr"), image_bytes("JPEG", (2048, 1024)), "image/jpeg"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["title"] == "Soldes" and body["message"] == "Bonjour"  # the texts stay
    stored = PushTranslation.objects.get(notification=push, locale="fr").image.name
    assert stored.endswith(".jpg") and body["image_url"].endswith(stored)
    with Image.open(media_root / stored) as kept:
        assert kept.size == (1024, 512)  # scaled as a composer upload is
    push.refresh_from_db()
    assert push.status == "approved_with_draft"  # campaigns keep the approved copy

    removed = api.delete(_image_url(push, "fr"))
    assert removed.status_code == 200 and removed.json()["image_url"] == ""
    assert PushTranslation.objects.get(notification=push, locale="fr").image.name == ""


@pytest.mark.parametrize(
    ("body", "content_type", "status", "expected"),
    [
        (b"not an image", "image/png", 400, "not a readable image"),
        (b"", "image/png", 400, "Send the image file itself"),
        (image_bytes("BMP", (10, 10)), "image/gif", 400, "BMP images are not supported"),
        (image_bytes(), "application/json", 415, None),
        (image_bytes(), "text/plain", 415, None),
    ],
)
def test_a_bad_image_is_refused_and_changes_nothing(
    addon_on,
    api,
    media_root,  # noqa: F811
    body,
    content_type,
    status,
    expected,
):
    push = PushNotificationFactory()
    api.put(_url(push, "fr"), {"message": "Bonjour"}, format="json")
    answer = _put_image(api, _image_url(push, "fr"), body, content_type)
    assert answer.status_code == status, answer.content
    if expected:
        assert expected in answer.json()["error"]["fields"]["image"][0]
    else:
        assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert PushTranslation.objects.get(notification=push).image.name == ""


def test_an_image_as_large_as_the_composer_takes_is_taken_over_the_body_cap(
    addon_on,
    api,
    media_root,  # noqa: F811
    settings,
):
    # Django's cap on other bodies (2 MiB by default) does not apply to an image: the
    # composer takes 5 MB, so the API does too.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024
    push = PushNotificationFactory()
    api.put(_url(push, "fr"), {"message": "Bonjour"}, format="json")
    out = io.BytesIO()  # noise does not compress: a PNG of ~120 KB
    Image.frombytes("RGB", (200, 200), random.Random(1).randbytes(120_000)).save(out, "PNG")
    body = out.getvalue()
    assert len(body) > 4 * 1024
    answer = _put_image(api, _image_url(push, "fr"), body)
    assert answer.status_code == 200, answer.content
    assert PushTranslation.objects.get(notification=push).image.name.endswith(".png")


def test_an_image_over_the_composer_limit_is_413(addon_on, api, media_root):  # noqa: F811
    push = PushNotificationFactory()
    api.put(_url(push, "fr"), {"message": "Bonjour"}, format="json")
    body = image_bytes("PNG", (400, 400)) + b"x" * (5 * 1024 * 1024)
    answer = _put_image(api, _image_url(push, "fr"), body)
    assert answer.status_code == 413
    assert answer.json()["error"] == {
        "code": "request_too_large",
        "message": "Request body is larger than 5120 KiB.",
    }
    assert PushTranslation.objects.get(notification=push).image.name == ""


def test_an_image_refused_for_another_field_leaves_no_file(addon_on, api, media_root):  # noqa: F811
    push = PushNotificationFactory()
    api.put(_url(push, "fr"), {"message": "Bonjour"}, format="json")
    # Since it was saved, the translation stopped passing its rules (as when the lead field
    # it names was deleted): the image is checked and stored first, then the save refuses.
    PushTranslation.objects.filter(notification=push).update(message="Bonjour {{lead.Gone}}")
    answer = _put_image(api, _image_url(push, "fr"), image_bytes())
    assert answer.status_code == 400, answer.content
    assert "message" in str(answer.json()["error"]["fields"])
    assert not media_root.exists() or not [p for p in media_root.rglob("*") if p.is_file()]


def test_an_image_needs_an_existing_translation(addon_on, api, media_root):  # noqa: F811
    push = PushNotificationFactory()
    assert _put_image(api, _image_url(push, "de"), image_bytes()).status_code == 404
    assert _put_image(api, _image_url(push, "german"), image_bytes()).status_code == 404
    assert api.delete(_image_url(push, "de")).status_code == 404
    assert not media_root.exists() or not list(media_root.rglob("*.png"))  # nothing stored
