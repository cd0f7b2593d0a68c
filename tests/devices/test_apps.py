from __future__ import annotations

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from devices.models import MobileApp, PushCredential
from devices.services.apps import (
    android_package_problem,
    app_create,
    app_rotate_secret,
    app_update,
    ios_bundle_id_problem,
)
from pushmarketing.core.models import AuditEntry
from pushmarketing.core.secrets import decrypt_bytes, hashes_match
from tests.factories import DEFAULT_SDK_SECRET, MobileAppFactory
from tests.ui_fixtures import KEY_ID, TEAM_ID, ec_key_pem, p12_bytes, service_account_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    # Icons are written to MEDIA_ROOT: keep them out of the working tree.
    settings.MEDIA_ROOT = tmp_path


def image_upload(fmt: str = "PNG", size: tuple[int, int] = (64, 64), name: str = "icon.png"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "purple").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


def create(**overrides):
    values = {
        "name": "Shop",
        "app_type": "sandbox",
        "ios_bundle_id": "com.example.shop",
        "android_package": "com.example.shop",
        "actor": None,
    }
    values.update(overrides)
    return app_create(**values)


# --- validation rules -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["com.example.shop", "io.my-app.ios2", "A.B"])
def test_valid_bundle_ids(value):
    assert ios_bundle_id_problem(value) == ""


@pytest.mark.parametrize(
    "value", ["shop", "com..shop", "com.example.shop_app", ".com.x", "com.ex ample"]
)
def test_invalid_bundle_ids(value):
    assert "reverse-DNS" in ios_bundle_id_problem(value)


@pytest.mark.parametrize("value", ["com.example.shop", "org.foo_bar.app2", "A.b"])
def test_valid_android_packages(value):
    assert android_package_problem(value) == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("shop", "at least two parts"),
        ("com.1shop", 'part "1shop" must start with a letter'),
        ("com.my-shop", 'part "my-shop" must start with a letter'),
        ("com.class.app", 'part "class" is a Java keyword'),
        ("com..app", 'part "" must start with a letter'),
    ],
)
def test_invalid_android_packages(value, message):
    assert message in android_package_problem(value)


def test_create_reports_every_bad_field_and_writes_nothing():
    with pytest.raises(ValidationError) as exc:
        create(name=" ", app_type="beta", ios_bundle_id="shop", android_package="com.class.x")
    assert set(exc.value.message_dict) == {"name", "app_type", "ios_bundle_id", "android_package"}
    assert not MobileApp.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_app_needs_at_least_one_platform_id():
    with pytest.raises(ValidationError) as exc:
        create(ios_bundle_id="", android_package="")
    assert exc.value.message_dict == {
        "ios_bundle_id": ["enter an iOS bundle id, an Android package, or both"]
    }


def test_icon_must_be_a_real_small_png_or_jpeg():
    app, _ = create(icon=image_upload("JPEG", name="i.jpg"))
    assert app.icon.name.endswith(".jpg")
    with pytest.raises(ValidationError) as exc:
        create(icon=SimpleUploadedFile("icon.png", b"not an image"))
    assert exc.value.message_dict == {"icon": ["icon is not a readable PNG or JPEG image"]}
    with pytest.raises(ValidationError) as exc:
        create(icon=image_upload("GIF", name="i.gif"))
    assert exc.value.message_dict == {"icon": ["icon must be PNG or JPEG (got GIF)"]}
    with pytest.raises(ValidationError) as exc:
        create(icon=image_upload("PNG", size=(3000, 10)))
    assert "at most 2048×2048" in exc.value.message_dict["icon"][0]


# --- secrets --------------------------------------------------------------------------------


def test_create_stores_only_a_hash_of_the_secret(admin_user):
    app, secret = create(actor=admin_user)
    assert secret.startswith("sk_") and len(secret) > 30
    assert app.sdk_key.startswith("pk_")
    assert secret not in app.sdk_secret_hash
    assert hashes_match(secret, app.sdk_secret_hash)
    entry = AuditEntry.objects.get(action="app.created")
    assert entry.actor == admin_user and secret not in str(entry.details)


def test_sdk_keys_are_unique_per_app():
    keys = {create(name=f"App {i}")[0].sdk_key for i in range(5)}
    assert len(keys) == 5


def test_rotate_invalidates_the_old_secret_at_once(admin_user):
    app, old = create()
    new = app_rotate_secret(app=app, actor=admin_user)
    app.refresh_from_db()
    assert new != old
    assert hashes_match(new, app.sdk_secret_hash)
    assert not hashes_match(old, app.sdk_secret_hash)
    assert app.sdk_secret_rotated_at is not None
    assert AuditEntry.objects.filter(action="app.secret_rotated", actor=admin_user).exists()


def test_update_audits_what_changed(admin_user):
    app, _ = create()
    app_update(
        app=app,
        name="Shop 2",
        app_type="production",
        ios_bundle_id="com.example.shop",
        android_package="com.example.shop",
        actor=admin_user,
    )
    entry = AuditEntry.objects.get(action="app.updated")
    assert entry.details["changes"] == {
        "name": ["Shop", "Shop 2"],
        "app_type": ["sandbox", "production"],
    }


# --- pages ----------------------------------------------------------------------------------


def test_create_page_shows_the_secret_once_and_the_detail_page_never(admin_client):
    response = admin_client.post(
        reverse("app-create"),
        {
            "name": "Shop",
            "app_type": "production",
            "ios_bundle_id": "com.example.shop",
            "android_package": "com.example.shop",
        },
    )
    assert response.status_code == 200
    app = MobileApp.objects.get()
    secret = re.search(r'id="sdk-secret">(sk_[^<]+)<', response.content.decode()).group(1)
    assert hashes_match(secret, app.sdk_secret_hash)
    detail = admin_client.get(reverse("app-detail", args=[app.pk])).content.decode()
    assert app.sdk_key in detail
    assert secret not in detail


def test_create_page_shows_field_errors(admin_client):
    response = admin_client.post(
        reverse("app-create"),
        {"name": "Shop", "app_type": "sandbox", "ios_bundle_id": "shop", "android_package": ""},
    )
    assert response.status_code == 400
    assert "iOS bundle id must be reverse-DNS" in response.content.decode()
    assert not MobileApp.objects.exists()


def test_a_french_admin_reads_the_field_errors_in_french(admin_client):
    admin_client.post(reverse("language-set"), {"language": "fr"})
    response = admin_client.post(
        reverse("app-create"),
        {"name": "Shop", "app_type": "sandbox", "ios_bundle_id": "x", "android_package": "shop"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "L’identifiant de bundle iOS doit être en DNS inversé" in page
    assert "Le package Android doit avoir au moins deux parties séparées par des points" in page
    assert not MobileApp.objects.exists()


def test_rotate_needs_confirmation_then_shows_the_new_secret_once(admin_client):
    app = MobileAppFactory()
    url = reverse("app-rotate-secret", args=[app.pk])
    response = admin_client.post(url, follow=True)
    app.refresh_from_db()
    assert hashes_match(DEFAULT_SDK_SECRET, app.sdk_secret_hash)
    assert "to confirm the rotation" in response.content.decode()

    response = admin_client.post(url, {"confirm": "yes"})
    assert "no-store" in response["Cache-Control"]
    app.refresh_from_db()
    secret = re.search(r'id="sdk-secret">(sk_[^<]+)<', response.content.decode()).group(1)
    assert hashes_match(secret, app.sdk_secret_hash)
    assert not hashes_match(DEFAULT_SDK_SECRET, app.sdk_secret_hash)
    assert admin_client.get(url).status_code == 405


def test_edit_page_saves_and_redirects(admin_client):
    app = MobileAppFactory(name="Old")
    response = admin_client.post(
        reverse("app-edit", args=[app.pk]),
        {
            "name": "New",
            "app_type": "sandbox",
            "ios_bundle_id": "com.example.new",
            "android_package": "",
            "icon": image_upload(),
        },
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.name, app.ios_bundle_id, app.android_package) == ("New", "com.example.new", "")
    assert app.icon.name.endswith(".png")


def test_upload_p8_through_the_page_shows_public_meta_only(admin_client):
    app = MobileAppFactory()
    pem = ec_key_pem()
    response = admin_client.post(
        reverse("app-credential-apns-token", args=[app.pk]),
        {
            "key": SimpleUploadedFile("AuthKey.p8", pem.encode()),
            "key_id": KEY_ID,
            "team_id": TEAM_ID,
        },
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert KEY_ID in page and TEAM_ID in page
    assert "PRIVATE KEY" not in page
    credential = PushCredential.objects.get(app=app)
    assert decrypt_bytes(credential.secret_encrypted).decode().strip() == pem.strip()


def test_bad_credential_upload_shows_the_reason_next_to_the_field(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-credential-apns-certificate", args=[app.pk]),
        {"certificate": SimpleUploadedFile("c.p12", p12_bytes("right")), "password": "wrong"},
    )
    assert response.status_code == 400
    assert "wrong password for this .p12 file" in response.content.decode()
    assert not PushCredential.objects.exists()


def test_fcm_upload_through_the_page(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-credential-fcm", args=[app.pk]),
        {"service_account": SimpleUploadedFile("sa.json", service_account_json().encode())},
    )
    assert response.status_code == 302
    assert PushCredential.objects.get(app=app).public_meta["project_id"] == "demo-project"


def test_oversize_upload_is_refused_without_reading_it(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-credential-fcm", args=[app.pk]),
        {"service_account": SimpleUploadedFile("big.json", b" " * 70_000 + b"{}")},
    )
    assert response.status_code == 400
    assert "the service-account file is too large (69 KiB; the limit is 64 KiB)" in (
        response.content.decode()
    )


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["marketer_client", "approver_client"])
def test_non_admins_get_403_on_every_app_page(request, client_name):
    client = request.getfixturevalue(client_name)
    app = MobileAppFactory()
    for name, method in [
        ("app-list", "get"),
        ("app-create", "get"),
        ("app-create", "post"),
        ("app-detail", "get"),
        ("app-edit", "get"),
        ("app-edit", "post"),
        ("app-rotate-secret", "post"),
        ("app-credential-apns-token", "post"),
        ("app-credential-apns-certificate", "post"),
        ("app-credential-fcm", "post"),
    ]:
        args = [] if name in ("app-list", "app-create") else [app.pk]
        response = getattr(client, method)(reverse(name, args=args), {"confirm": "yes"})
        assert response.status_code == 403, (name, method)
    app.refresh_from_db()
    assert hashes_match(DEFAULT_SDK_SECRET, app.sdk_secret_hash)


def test_anonymous_is_sent_to_login(client):
    app = MobileAppFactory()
    for url in (reverse("app-list"), reverse("app-detail", args=[app.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_app_list_shows_credential_state_in_few_queries(
    admin_client, django_assert_max_num_queries
):
    apps = [MobileAppFactory() for _ in range(6)]
    for app in apps[:3]:
        PushCredential.objects.create(app=app, platform="android", kind="fcm_service_account")
    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("app-list"))
    page = response.content.decode()
    assert page.count("not configured") == 9
    assert page.count("uploaded, not verified") == 3
