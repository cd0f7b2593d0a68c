from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign
from notifications import services
from notifications.models import PushNotification
from notifications.selectors import lead_token_field_names
from tests.composer_fixtures import (  # noqa: F401 - fixtures
    fresh_lead_field_cache,
    image_bytes,
    media_root,
)
from tests.factories import LeadFactory, MobileAppFactory, PushNotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(addon_on):
    return MobileAppFactory(name="Acme", ios_bundle_id="com.acme")


def _post(app, **overrides):
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
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ---------- pages, roles, add-on ----------


def test_pages_require_the_addon(marketer_client):
    MobileAppFactory()
    response = marketer_client.get(reverse("notification-list"))
    assert response.status_code == 403
    assert b"add-on" in response.content.lower()


def test_user_without_role_is_refused(app):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(reverse("notification-list")).status_code == 403


def test_approver_views_but_cannot_create_or_edit(app, approver_client):
    push = PushNotificationFactory(app=app)
    assert approver_client.get(reverse("notification-list")).status_code == 200
    assert approver_client.get(reverse("notification-detail", args=[push.pk])).status_code == 200
    assert approver_client.get(reverse("notification-create")).status_code == 403
    assert approver_client.post(reverse("notification-create"), _post(app)).status_code == 403
    assert approver_client.get(reverse("notification-edit", args=[push.pk])).status_code == 403
    assert approver_client.post(reverse("notification-clone", args=[push.pk])).status_code == 403
    assert approver_client.post(reverse("notification-delete", args=[push.pk])).status_code == 403
    assert PushNotification.objects.count() == 1


def test_marketer_cannot_approve_through_the_page(app, marketer_client):
    push = PushNotificationFactory(app=app)
    page = marketer_client.get(reverse("notification-detail", args=[push.pk]))
    assert b'id="approve-btn"' not in page.content
    response = marketer_client.post(reverse("notification-approve", args=[push.pk]))
    assert response.status_code == 403
    push.refresh_from_db()
    assert push.approved_content is None


def test_approver_approves_through_the_page(app, approver_client):
    push = PushNotificationFactory(app=app)
    page = approver_client.get(reverse("notification-detail", args=[push.pk]))
    assert b'id="approve-btn"' in page.content
    response = approver_client.post(reverse("notification-approve", args=[push.pk]), follow=True)
    assert "Approved" in response.content.decode()
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED


def test_approving_an_oversize_push_shows_the_reason(app, approver_client):
    push = PushNotificationFactory(app=app, message="y" * 4200)
    response = approver_client.post(reverse("notification-approve", args=[push.pk]), follow=True)
    assert "Not approved" in response.content.decode()
    assert "limit is 4,096" in response.content.decode()
    push.refresh_from_db()
    assert push.status == PushNotification.Status.DRAFT


# ---------- create / edit ----------


def test_create_page_without_any_app_explains_what_to_do(addon_on, marketer_client):
    html = marketer_client.get(reverse("notification-create")).content.decode()
    assert "There is no mobile app yet" in html and "ask an admin" in html


def test_create_page_has_form_previews_and_token_fields(app, marketer_client):
    LeadFactory(custom_fields={"Loyalty Tier": "gold"})
    html = marketer_client.get(reverse("notification-create")).content.decode()
    assert 'id="composer-form"' in html and 'id="preview-android"' in html
    assert 'id="preview-ios"' in html
    assert '<option value="Loyalty Tier"' in html and '<option value="First Name"' in html


def test_marketer_creates_a_push(app, marketer_client, marketer_user):
    response = marketer_client.post(
        reverse("notification-create"),
        _post(app, data_key=["promo", ""], data_value=["SPRING", ""], badge="3"),
    )
    push = PushNotification.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("notification-edit", args=[push.pk])
    assert push.created_by == marketer_user and push.status == "draft"
    assert push.custom_data == {"promo": "SPRING"} and push.badge == 3 and push.ttl_seconds == 3600


def test_only_the_message_is_required(app, marketer_client):
    response = marketer_client.post(
        reverse("notification-create"), {"app": app.pk, "message": "Hello", "android_enabled": "on"}
    )
    assert response.status_code == 302
    push = PushNotification.objects.get()
    assert push.name == "Untitled push" and push.priority == "high" and push.ttl_seconds == 2419200
    assert push.tap_action == "app_home" and push.android_sound == "default"


def _errors(response) -> dict:
    return response.context["form"].errors


def _assert_refused_under(app, client, overrides, field, text) -> None:  # noqa: ANN001
    response = client.post(reverse("notification-create"), _post(app, **overrides))
    assert response.status_code == 200
    errors = _errors(response)
    assert field in errors, errors
    assert any(text in e for e in errors[field]), errors[field]
    assert not PushNotification.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"message": ""}, "message", "The message is required."),
        ({"message": "Hi {{lead.Shoe Size:default=9}}"}, "message", "no field named 'Shoe Size'"),
        ({"title": "Hi {{lead.First Name}}"}, "title", "needs a default"),
        ({"subtitle": "Hi {{First Name}}"}, "subtitle", "not a valid token"),
        ({"message": "Hi {{ unclosed"}, "message", "stray '{{'"),
        ({"tap_action": "deep_link", "tap_uri": ""}, "tap_uri", "Enter the deep link"),
        ({"tap_action": "deep_link", "tap_uri": "not a link"}, "tap_uri", "myapp://path"),
        ({"tap_action": "url", "tap_uri": "ftp://x.io/file"}, "tap_uri", "https://"),
        ({"tap_action": "url", "tap_uri": "https://"}, "tap_uri", "https://"),
        ({"collapse_key": "é" * 33}, "collapse_key", "66 bytes; the limit is 64 bytes"),
        ({"android_channel_id": "bad channel!"}, "android_channel_id", "letters, digits"),
        ({"badge": "-1"}, "badge", "greater than or equal to 0"),
        ({"ttl_seconds": "9999999"}, "ttl_seconds", "less than or equal to 2419200"),
        ({"data_key": ["pm_id"], "data_value": ["1"]}, "custom_data", "reserved"),
        ({"data_key": ["google.x"], "data_value": ["1"]}, "custom_data", "reserved"),
        ({"data_key": ["a", "a"], "data_value": ["1", "2"]}, "custom_data", "appears twice"),
        ({"data_key": [""], "data_value": ["orphan"]}, "custom_data", "needs a key"),
        ({"android_enabled": None, "ios_enabled": None}, "__all__", "Enable Android, iOS or both"),
        ({"data_key": ["big"], "data_value": ["v" * 4100]}, "__all__", "limit is 4,096"),
        ({"message": "{{lead.Email Address:default=x}}" * 17}, "__all__", "worst case"),
    ],
)
def test_invalid_input_is_refused_under_the_field(app, marketer_client, overrides, field, text):
    _assert_refused_under(app, marketer_client, overrides, field, text)


def test_tokens_are_allowed_in_deep_links_and_urls(app, marketer_client):
    response = marketer_client.post(
        reverse("notification-create"),
        _post(app, tap_action="url", tap_uri="https://acme.io/u/{{lead.First Name:default=all}}"),
    )
    assert response.status_code == 302
    assert PushNotification.objects.get().tap_uri.startswith("https://acme.io/u/{{lead.")


def test_escaped_braces_save_and_stray_ones_do_not(app, marketer_client):
    ok = marketer_client.post(reverse("notification-create"), _post(app, message=r"Code \{{X\}}"))
    assert ok.status_code == 302
    bad = marketer_client.post(reverse("notification-create"), _post(app, message="Code {{X"))
    assert "message" in _errors(bad)


def test_custom_lead_fields_are_known_tokens(app, marketer_client):
    LeadFactory(custom_fields={"Loyalty Tier": "gold", "points": 10, "bad:{key}": "x"})
    LeadFactory(custom_fields={})
    assert lead_token_field_names()[-2:] == ["Loyalty Tier", "points"]
    response = marketer_client.post(
        reverse("notification-create"), _post(app, message="{{lead.Loyalty Tier:default=member}}")
    )
    assert response.status_code == 302


def test_edit_approved_push_sets_approved_with_draft(app, marketer_client, approver_user):
    push = PushNotificationFactory(app=app, message="Old")
    services.notification_approve(notification=push, actor=approver_user)
    response = marketer_client.post(
        reverse("notification-edit", args=[push.pk]), _post(app, message="New")
    )
    assert response.status_code == 302
    push.refresh_from_db()
    assert push.status == PushNotification.Status.APPROVED_WITH_DRAFT
    assert push.approved_content["message"] == "Old" and push.message == "New"
    page = marketer_client.get(reverse("notification-edit", args=[push.pk])).content.decode()
    assert "Campaigns keep sending the version approved" in page


def test_clone_and_delete_through_the_pages(app, marketer_client):
    push = PushNotificationFactory(app=app, name="Spring")
    response = marketer_client.post(reverse("notification-clone", args=[push.pk]))
    copy = PushNotification.objects.get(name="Copy of Spring")
    assert response["Location"] == reverse("notification-edit", args=[copy.pk])
    response = marketer_client.post(reverse("notification-delete", args=[copy.pk]))
    assert response["Location"] == reverse("notification-list")
    assert not PushNotification.objects.filter(pk=copy.pk).exists()


def test_delete_in_use_names_the_campaign(app, marketer_client):
    push = PushNotificationFactory(app=app)
    Campaign.objects.create(name="Weekly digest", kind="batch", app=app, notification=push)
    detail = marketer_client.get(reverse("notification-detail", args=[push.pk])).content.decode()
    assert "Weekly digest" in detail and "Delete push" not in detail
    response = marketer_client.post(reverse("notification-delete", args=[push.pk]), follow=True)
    assert "Weekly digest" in response.content.decode()
    assert "cannot be deleted" in response.content.decode()
    assert PushNotification.objects.filter(pk=push.pk).exists()
    history = marketer_client.get(reverse("notification-detail", args=[push.pk])).content.decode()
    assert "Not deleted: Weekly digest uses it" in history


# ---------- images through the composer ----------


def test_image_upload_endpoint_accepts_and_refuses(app, marketer_client, media_root):  # noqa: F811
    url = reverse("notification-image-upload")
    good = marketer_client.post(
        url, {"image": SimpleUploadedFile("a.png", image_bytes("PNG", (2000, 1000)), "image/png")}
    )
    assert good.status_code == 200
    assert good.json()["name"].startswith("push-images/")
    assert good.json()["url"].endswith(good.json()["name"])
    bad = marketer_client.post(url, {"image": SimpleUploadedFile("a.png", b"nope", "image/png")})
    assert bad.status_code == 400
    assert "not a readable image" in bad.json()["error"]["message"]


def test_form_upload_stores_image_and_broken_file_leaves_push_unchanged(
    app,
    marketer_client,
    media_root,  # noqa: F811
):
    push = PushNotificationFactory(app=app, message="Keep me")
    edit = reverse("notification-edit", args=[push.pk])
    broken = SimpleUploadedFile("x.jpg", image_bytes("JPEG")[:200], "image/jpeg")
    response = marketer_client.post(edit, _post(app, message="Changed", image_file=broken))
    assert response.status_code == 200
    assert "image_file" in _errors(response)
    push.refresh_from_db()
    assert push.message == "Keep me" and not push.image

    good = SimpleUploadedFile("x.jpg", image_bytes("JPEG", (1200, 600)), "image/jpeg")
    response = marketer_client.post(edit, _post(app, image_file=good))
    assert response.status_code == 302
    push.refresh_from_db()
    assert push.image.name.startswith("push-images/") and push.image.name.endswith(".jpg")
    assert services.notification_working_content(push).image_url.endswith(push.image.name)


def test_image_name_must_be_a_stored_upload(app, marketer_client, media_root):  # noqa: F811
    response = marketer_client.post(
        reverse("notification-create"), _post(app, image_name="../../etc/passwd")
    )
    assert "image_name" in _errors(response)


# ---------- live preview endpoint ----------


def test_preview_renders_for_the_chosen_lead(app, marketer_client):
    lead = LeadFactory(first_name="Ann", email="ann@example.com")
    response = marketer_client.post(
        reverse("notification-preview"), _post(app, preview_lead=str(lead.pk))
    )
    body = response.json()
    assert body["android"]["collapsed"]["body"]["text"] == "Hi Ann"
    assert body["ios"]["banner"]["body"]["text"] == "Hi Ann"
    assert body["ios"]["app_name"] == "Acme"
    assert body["preview_as"] == "ann@example.com"
    assert body["errors"] == {}


def test_preview_returns_field_errors_live(app, marketer_client):
    response = marketer_client.post(
        reverse("notification-preview"),
        _post(app, message="Hi {{lead.Nope:default=x}}", android_enabled=None),
    )
    body = response.json()
    assert "no field named 'Nope'" in body["errors"]["message"][0]
    assert body["android"] is None
    assert body["ios"]["banner"]["body"]["text"] == "Hi {{lead.Nope:default=x}}"


def test_preview_requires_csrf(app, marketer_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer_user)
    assert client.post(reverse("notification-preview"), _post(app)).status_code == 403


def test_preview_is_cheap(app, marketer_client, django_assert_max_num_queries):
    lead = LeadFactory()
    marketer_client.get(reverse("notification-list"))  # warm the session
    with django_assert_max_num_queries(12):
        marketer_client.post(reverse("notification-preview"), _post(app, preview_lead=str(lead.pk)))


def test_lead_search_finds_by_email(app, marketer_client):
    LeadFactory(email="zoe@example.com", first_name="Zoe")
    LeadFactory(email="other@example.com")
    results = marketer_client.get(reverse("notification-lead-search"), {"q": "zoe@"}).json()
    assert [r["email"] for r in results["results"]] == ["zoe@example.com"]
    assert marketer_client.get(reverse("notification-lead-search")).json() == {"results": []}


# ---------- list ----------


def test_list_filters_search_and_paginates(app, marketer_client, approver_user):
    other = MobileAppFactory(name="Other")
    ios_only = PushNotificationFactory(app=app, name="iOS only", android_enabled=False)
    approved = PushNotificationFactory(app=app, name="Approved one", message="Spring sale")
    services.notification_approve(notification=approved, actor=approver_user)
    PushNotificationFactory(app=other, name="Elsewhere")
    url = reverse("notification-list")

    def names(**params):
        return [n.name for n in marketer_client.get(url, params).context["page"].object_list]

    assert set(names()) == {"iOS only", "Approved one", "Elsewhere"}
    assert set(names(app=app.pk)) == {"iOS only", "Approved one"}
    assert names(status="approved") == ["Approved one"]
    assert set(names(platform="android")) == {"Approved one", "Elsewhere"}
    assert names(platform="ios", app=app.pk, status="draft") == [ios_only.name]
    assert names(q="spring") == ["Approved one"]
    assert "No push matches" in marketer_client.get(url, {"q": "zzz"}).content.decode()


def test_list_is_paginated_without_n_plus_one(app, marketer_client, django_assert_max_num_queries):
    for i in range(30):
        PushNotificationFactory(app=app, name=f"Push {i:02d}")
    marketer_client.get(reverse("notification-list"))
    with django_assert_max_num_queries(10):
        response = marketer_client.get(reverse("notification-list"))
    assert len(response.context["page"].object_list) == 25
    second = marketer_client.get(reverse("notification-list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5


def test_empty_list_invites_to_create(app, marketer_client):
    html = marketer_client.get(reverse("notification-list")).content.decode()
    assert "No push notifications yet" in html and reverse("notification-create") in html


# ---------- the composer's rules in the user's language ----------


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"message": ""}, "message", "Le message est obligatoire."),
        ({"message": "Hi {{lead.Shoe Size:default=9}}"}, "message", "pas de champ nommé"),
        ({"title": "Hi {{lead.First Name}}"}, "title", "doit avoir une valeur par défaut"),
        ({"subtitle": "Hi {{First Name}}"}, "subtitle", "n’est pas un jeton valide"),
        ({"message": "Hi {{ unclosed"}, "message", "isolé n’est pas autorisé"),
        ({"tap_action": "deep_link", "tap_uri": ""}, "tap_uri", "Saisissez le lien profond"),
        ({"tap_action": "url", "tap_uri": "ftp://x.io/f"}, "tap_uri", "commençant par https://"),
        ({"collapse_key": "é" * 33}, "collapse_key", "66 octets ; la limite est de 64 octets"),
        ({"android_channel_id": "bad channel!"}, "android_channel_id", "des chiffres"),
        ({"data_key": ["pm_id"], "data_value": ["1"]}, "custom_data", "est réservée"),
        ({"data_key": ["a", "a"], "data_value": ["1", "2"]}, "custom_data", "deux fois"),
        ({"data_key": [""], "data_value": ["orphan"]}, "custom_data", "doit avoir une clé"),
        ({"android_enabled": None, "ios_enabled": None}, "__all__", "Activez Android, iOS"),
        ({"image_file": SimpleUploadedFile("a.png", b"not an image")}, "image_file", "lisible"),
    ],
)
def test_a_french_user_reads_the_rules_in_french(app, marketer_client, overrides, field, text):
    marketer_client.post(reverse("language-set"), {"language": "fr"})
    _assert_refused_under(app, marketer_client, overrides, field, text)
