from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campaigns.models import Campaign, CampaignRun
from notifications import services
from notifications.models import NotificationEvent, PushNotification
from notifications.selectors import notifications_approved_for
from pushmarketing.core.models import AuditEntry
from tests.composer_fixtures import fresh_lead_field_cache  # noqa: F401 - fixture
from tests.factories import MobileAppFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db


def _fields(**overrides):
    fields = {"message": "Hi {{lead.First Name:default=there}}", "title": "Sale"}
    fields.update(overrides)
    return fields


def test_create_records_history_and_defaults_the_name(marketer_user):
    app = MobileAppFactory()
    push = services.notification_create(app=app, actor=marketer_user, fields=_fields())
    assert push.status == PushNotification.Status.DRAFT
    assert push.name == "Untitled push"
    assert list(push.events.values_list("action", flat=True)) == ["created"]


def test_create_refuses_unknown_token_and_writes_nothing(marketer_user):
    with pytest.raises(ValidationError) as exc:
        services.notification_create(
            app=MobileAppFactory(),
            actor=marketer_user,
            fields=_fields(message="{{lead.Nope:default=x}}"),
        )
    assert "message" in exc.value.message_dict
    assert not PushNotification.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_create_refuses_oversize_payload(marketer_user):
    with pytest.raises(ValidationError) as exc:
        services.notification_create(
            app=MobileAppFactory(),
            actor=marketer_user,
            fields=_fields(custom_data={"k": "v" * 4100}),
        )
    assert "limit is 4,096" in " ".join(exc.value.message_dict["__all__"])
    assert not PushNotification.objects.exists()


def test_approver_approves_and_content_is_frozen(approver_user):
    push = PushNotificationFactory(image="push-images/" + "a" * 32 + ".jpg")
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED
    assert push.approved_by == approver_user and push.approved_at is not None
    assert push.approved_content["message"] == "Hi {{lead.First Name:default=there}}"
    assert push.approved_content["image_url"].endswith("/media/push-images/" + "a" * 32 + ".jpg")
    assert AuditEntry.objects.filter(action="notification.approved").count() == 1
    assert push.events.filter(action="approved").exists()


def test_admin_may_approve(admin_user):
    push = PushNotificationFactory()
    services.notification_approve(notification=push, actor=admin_user)
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED


def test_marketer_cannot_approve(marketer_user):
    push = PushNotificationFactory()
    with pytest.raises(PermissionDenied):
        services.notification_approve(notification=push, actor=marketer_user)
    push.refresh_from_db()
    assert push.status == PushNotification.Status.DRAFT and push.approved_content is None


def test_approve_refuses_invalid_content(approver_user):
    push = PushNotificationFactory(message="Hi {{lead.First Name}}")  # no default
    with pytest.raises(ValidationError) as exc:
        services.notification_approve(notification=push, actor=approver_user)
    assert "needs a default" in exc.value.message_dict["message"][0]
    push.refresh_from_db()
    assert push.approved_content is None


def test_approve_refuses_oversize(approver_user):
    push = PushNotificationFactory(message="x" * 4200)
    with pytest.raises(ValidationError):
        services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    assert push.status == PushNotification.Status.DRAFT


def test_edit_after_approve_keeps_the_approved_copy(marketer_user, approver_user):
    push = PushNotificationFactory(message="Version one")
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    push = services.notification_update(
        notification=push, actor=marketer_user, fields={"message": "Version two"}
    )
    assert push.status == PushNotification.Status.APPROVED_WITH_DRAFT
    assert push.message == "Version two"
    assert push.approved_content["message"] == "Version one"
    # Campaigns still find it, and send the approved copy.
    assert list(notifications_approved_for(push.app)) == [push]
    assert services.notification_working_content(push).message == "Version two"
    event = push.events.filter(action="edited").get()
    assert event.details == {"fields": ["message"]}

    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED
    assert push.approved_content["message"] == "Version two"


def test_editing_back_to_the_approved_content_is_plain_approved(marketer_user, approver_user):
    push = PushNotificationFactory(message="Same")
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    services.notification_update(
        notification=push, actor=marketer_user, fields={"message": "Other"}
    )
    push = services.notification_update(
        notification=push, actor=marketer_user, fields={"message": "Same"}
    )
    assert push.status == PushNotification.Status.APPROVED


def test_unchanged_save_records_nothing(marketer_user):
    push = PushNotificationFactory()
    services.notification_update(notification=push, actor=marketer_user, fields={"title": "Hello"})
    assert not push.events.exists()


def test_approved_push_cannot_move_to_another_app(marketer_user, approver_user):
    push = PushNotificationFactory()
    services.notification_approve(notification=push, actor=approver_user)
    with pytest.raises(ValidationError) as exc:
        services.notification_update(
            notification=push, actor=marketer_user, fields={"app": MobileAppFactory()}
        )
    assert "app" in exc.value.message_dict


def test_only_approved_pushes_of_the_app_are_offered_to_campaigns(approver_user):
    app = MobileAppFactory()
    approved = PushNotificationFactory(app=app, name="B approved")
    PushNotificationFactory(app=app, name="A draft")
    other_app = PushNotificationFactory(name="other app")
    services.notification_approve(notification=approved, actor=approver_user)
    services.notification_approve(notification=other_app, actor=approver_user)
    assert list(notifications_approved_for(app)) == [approved]
    assert list(notifications_approved_for(app.pk)) == [approved]


def test_clone_makes_a_new_draft_copy(marketer_user, approver_user):
    push = PushNotificationFactory(name="Spring", custom_data={"a": "1"})
    services.notification_approve(notification=push, actor=approver_user)
    push.refresh_from_db()
    copy = services.notification_clone(notification=push, actor=marketer_user)
    assert copy.pk != push.pk
    assert copy.name == "Copy of Spring"
    assert copy.status == PushNotification.Status.DRAFT and copy.approved_content is None
    assert copy.message == push.message and copy.custom_data == {"a": "1"}
    assert copy.events.get().action == "cloned"
    assert push.events.filter(action="copied").exists()


def test_unused_push_can_be_deleted(marketer_user):
    push = PushNotificationFactory()
    services.notification_delete(notification=push, actor=marketer_user)
    assert not PushNotification.objects.filter(pk=push.pk).exists()
    assert AuditEntry.objects.filter(action="notification.deleted").exists()


def test_push_used_by_a_campaign_cannot_be_deleted_and_names_it(marketer_user):
    push = PushNotificationFactory()
    Campaign.objects.create(name="Spring blast", kind="batch", app=push.app, notification=push)
    with pytest.raises(services.NotificationInUse) as exc:
        services.notification_delete(notification=push, actor=marketer_user)
    assert exc.value.campaign_names == ["Spring blast"]
    assert "Spring blast" in str(exc.value)
    assert PushNotification.objects.filter(pk=push.pk).exists()
    refusal = push.events.get(action="delete_refused")
    assert refusal.details == {"campaigns": ["Spring blast"]}


def test_push_used_by_a_run_cannot_be_deleted(marketer_user):
    push = PushNotificationFactory()
    CampaignRun.objects.create(kind="sample", notification=push, app=push.app, content={})
    with pytest.raises(services.NotificationInUse):
        services.notification_delete(notification=push, actor=marketer_user)
    assert PushNotification.objects.filter(pk=push.pk).exists()


def test_working_content_matches_columns():
    push = PushNotificationFactory(
        badge=2, custom_data={"k": "v"}, tap_action="url", tap_uri="https://x.io"
    )
    content = services.notification_working_content(push)
    assert content.badge == 2 and content.custom_data == {"k": "v"}
    assert content.tap_uri == "https://x.io" and content.image_url == ""
