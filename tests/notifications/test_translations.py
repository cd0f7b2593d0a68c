from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from notifications import services
from notifications.content import LocalizedContent
from notifications.locales import content_for_locale
from notifications.models import NotificationEvent, PushNotification, PushTranslation
from pushmarketing.core.models import AuditEntry
from tests.composer_fixtures import fresh_lead_field_cache  # noqa: F401 - fixture
from tests.factories import MobileAppFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db

FRENCH = {"title": "Soldes", "message": "Bonjour {{lead.First Name:default=toi}}"}


def _problems(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


def test_create_with_translations_stores_normalised_codes(marketer_user):
    push = services.notification_create(
        app=MobileAppFactory(),
        actor=marketer_user,
        fields={"message": "Hello"},
        translations={"fr": FRENCH, "fr-ca": {"message": "Allô"}},
    )
    assert list(push.translations.values_list("locale", "message")) == [
        ("fr", FRENCH["message"]),
        ("fr_CA", "Allô"),
    ]


@pytest.mark.parametrize(
    ("translations", "expected"),
    [
        ({"french": {"message": "x"}}, "Translation 'french', locale: must be a language code"),
        ({"fr-CA": {"message": "a"}, "fr_ca": {"message": "b"}}, "one translation per locale"),
        ({"fr": {"message": " "}}, "Translation 'fr', message: is required."),
        ({"fr": {"message": "x", "title": "t" * 201}}, "title: must be at most 200 characters"),
        ({"fr": {"message": "{{lead.Nope:default=x}}"}}, "the lead has no field named 'Nope'"),
        ({"fr": {"message": "x", "subtitle": "{{lead.First Name}}"}}, "subtitle: {{lead.First"),
        ({"fr": {"message": "x", "tap_uri": "https://x"}}, "tap_uri: must be blank"),
        ({"fr": {"message": "x" * 4200}}, "Translation 'fr': The Android (FCM) payload"),
        ({"fr": {"message": "x", "image": "push-images/nope.jpg"}}, "image: the uploaded image"),
    ],
)
def test_translation_rules_name_the_locale_and_field(marketer_user, translations, expected):
    with pytest.raises(ValidationError) as exc:
        services.notification_create(
            app=MobileAppFactory(),
            actor=marketer_user,
            fields={"message": "Hello"},
            translations=translations,
        )
    assert expected in _problems(exc)
    assert all(key.startswith("translations.") for key in exc.value.message_dict)
    assert not PushNotification.objects.exists()


def test_problems_are_keyed_by_locale_and_field(marketer_user):
    with pytest.raises(ValidationError) as exc:
        services.notification_create(
            app=MobileAppFactory(),
            actor=marketer_user,
            fields={"message": "Hello"},
            translations={"de-AT": {"message": ""}},
        )
    assert exc.value.message_dict == {
        "translations.de_AT.message": ["Translation 'de_AT', message: is required."]
    }


def test_translated_link_follows_the_tap_action(marketer_user):
    app = MobileAppFactory()
    fields = {"message": "Hello", "tap_action": "url", "tap_uri": "https://example.com/en"}
    with pytest.raises(ValidationError) as exc:
        services.notification_create(
            app=app,
            actor=marketer_user,
            fields=fields,
            translations={"fr": {"message": "x", "tap_uri": "myapp://fr"}},
        )
    assert "tap_uri: must be a full web address" in _problems(exc)
    push = services.notification_create(
        app=app,
        actor=marketer_user,
        fields=fields,
        translations={
            "fr": {
                "message": "x",
                "tap_uri": "https://example.com/fr?n={{lead.First Name:default=}}",
            }
        },
    )
    assert push.translations.get().tap_uri.startswith("https://example.com/fr")


def test_approval_freezes_every_translation(approver_user, marketer_user):
    push = PushNotificationFactory(message="Hello")
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    assert push.approved_content["translations"]["fr"]["message"] == FRENCH["message"]
    audit = AuditEntry.objects.get(action="notification.approved")
    assert audit.details["translations"] == ["fr"]
    localized = LocalizedContent.from_dict(push.approved_content)
    assert content_for_locale(localized, "fr_CA")[1].title == "Soldes"
    assert content_for_locale(localized, "en_US")[1].message == "Hello"


def test_push_without_translations_snapshot_is_unchanged(approver_user):
    push = PushNotificationFactory()
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    assert "translations" not in push.approved_content


def test_editing_a_translation_of_an_approved_push_makes_a_draft(approver_user, marketer_user):
    push = PushNotificationFactory(message="Hello")
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()

    push = services.notification_update(
        notification=push,
        actor=marketer_user,
        fields={},
        translations={"fr": {**FRENCH, "title": "Promo"}},
    )
    assert push.status == PushNotification.Status.APPROVED_WITH_DRAFT
    assert push.approved_content["translations"]["fr"]["title"] == "Soldes"  # still sent
    event = push.events.filter(action="edited").first()
    assert event is not None and event.details == {"fields": [], "translations": ["fr"]}
    assert AuditEntry.objects.filter(
        action="notification.translations_changed", details__locales=["fr"]
    ).exists()

    # Back to exactly what was approved: plain approved again.
    push = services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    assert push.status == PushNotification.Status.APPROVED


def test_api_put_and_delete_of_one_translation_make_a_draft(approver_user, marketer_user):
    push = PushNotificationFactory(message="Hello")
    services.notification_approve(notification=push, actor=approver_user)
    translation, created = services.notification_translation_put(
        notification=push, actor=marketer_user, locale="de-DE", fields={"message": "Hallo"}
    )
    assert created and translation.locale == "de_DE"
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED_WITH_DRAFT
    _, created = services.notification_translation_put(
        notification=push, actor=marketer_user, locale="de_DE", fields={"message": "Servus"}
    )
    assert not created
    assert PushTranslation.objects.get(notification=push).message == "Servus"
    assert services.notification_translation_delete(
        notification=push, actor=marketer_user, locale="de_DE"
    )
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED  # back to the approved content
    assert not services.notification_translation_delete(
        notification=push, actor=marketer_user, locale="de_DE"
    )
    assert NotificationEvent.objects.filter(notification=push, action="edited").count() == 3


def test_unchanged_translations_record_nothing(marketer_user):
    push = PushNotificationFactory()
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    assert push.events.filter(action="edited").count() == 1


def test_saving_without_a_row_removes_that_translation(marketer_user):
    push = PushNotificationFactory()
    services.notification_update(
        notification=push,
        actor=marketer_user,
        fields={},
        translations={"fr": FRENCH, "de": {"message": "Hallo"}},
    )
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"de": {"message": "Hallo"}}
    )
    assert list(push.translations.values_list("locale", flat=True)) == ["de"]


def test_clone_copies_translations(marketer_user):
    push = PushNotificationFactory()
    services.notification_update(
        notification=push, actor=marketer_user, fields={}, translations={"fr": FRENCH}
    )
    copy = services.notification_clone(notification=push, actor=marketer_user)
    assert list(copy.translations.values_list("locale", "title")) == [("fr", "Soldes")]
