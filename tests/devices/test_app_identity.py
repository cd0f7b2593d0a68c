"""The app page's Identity card: the identity secret (generated, rotated, shown once, kept
encrypted), identity verification and the SDK-writable lead fields."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from devices.models import MobileApp
from devices.services.identity import app_identity_secret_rotate
from pushmarketing.core.models import AuditEntry
from pushmarketing.core.secrets import decrypt_bytes
from tests.factories import MobileAppFactory

pytestmark = pytest.mark.django_db


def shown_secret(response) -> str:
    return re.search(r'id="identity-secret">(ik_[^<]+)<', response.content.decode()).group(1)


def test_generate_shows_the_identity_secret_once_and_stores_it_encrypted(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(reverse("app-identity-rotate-secret", args=[app.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    app.refresh_from_db()
    assert secret not in app.identity_secret_encrypted
    assert decrypt_bytes(app.identity_secret_encrypted).decode() == secret
    detail = admin_client.get(reverse("app-detail", args=[app.pk])).content.decode()
    assert secret not in detail and "Rotate identity secret" in detail
    entry = AuditEntry.objects.get(action="app.identity_secret_rotated")
    assert secret not in str(entry.details) and secret not in entry.summary


def test_rotating_an_existing_identity_secret_needs_confirmation(admin_client):
    app = MobileAppFactory()
    old = app_identity_secret_rotate(app=app, actor=None)
    url = reverse("app-identity-rotate-secret", args=[app.pk])
    response = admin_client.post(url, follow=True)
    assert "to confirm" in response.content.decode()
    app.refresh_from_db()
    assert decrypt_bytes(app.identity_secret_encrypted).decode() == old

    new = shown_secret(admin_client.post(url, {"confirm": "yes"}))
    app.refresh_from_db()
    assert new != old and decrypt_bytes(app.identity_secret_encrypted).decode() == new


def test_verification_cannot_be_switched_on_without_a_secret(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-identity", args=[app.pk]), {"identity_verification_required": "on"}
    )
    assert response.status_code == 400
    assert "generate the identity secret first" in response.content.decode()
    app.refresh_from_db()
    assert app.identity_verification_required is False


def test_identity_settings_save_and_are_audited(admin_client):
    app = MobileAppFactory()
    app_identity_secret_rotate(app=app, actor=None)
    response = admin_client.post(
        reverse("app-identity", args=[app.pk]),
        {
            "identity_verification_required": "on",
            "sdk_writable_lead_fields": ["first_name", "city"],
            "sdk_writable_custom_fields": "tier, plan\nplan\n",
        },
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.identity_verification_required is True
    assert app.sdk_writable_lead_fields == ["first_name", "city"]
    assert app.sdk_writable_custom_fields == ["tier", "plan"]
    entry = AuditEntry.objects.get(action="app.identity_updated")
    assert set(entry.details["changes"]) == {
        "identity_verification_required",
        "sdk_writable_lead_fields",
        "sdk_writable_custom_fields",
    }
    detail = admin_client.get(reverse("app-detail", args=[app.pk])).content.decode()
    assert "verification on" in detail


def test_unknown_lead_fields_and_long_custom_names_are_refused(admin_client):
    app = MobileAppFactory()
    url = reverse("app-identity", args=[app.pk])
    response = admin_client.post(url, {"sdk_writable_lead_fields": ["email"]})
    assert response.status_code == 400  # not a choice: e-mail is identity, not a field
    response = admin_client.post(url, {"sdk_writable_custom_fields": "x" * 51})
    assert response.status_code == 400
    assert "at most 50 characters" in response.content.decode()
    assert MobileApp.objects.get(pk=app.pk).sdk_writable_custom_fields == []


@pytest.mark.parametrize("client_name", ["marketer_client", "approver_client"])
def test_non_admins_get_403_on_the_identity_pages(request, client_name):
    client = request.getfixturevalue(client_name)
    app = MobileAppFactory()
    for name in ("app-identity", "app-identity-rotate-secret"):
        response = client.post(
            reverse(name, args=[app.pk]), {"identity_verification_required": "on"}
        )
        assert response.status_code == 403, name
    app.refresh_from_db()
    assert app.identity_secret_encrypted == "" and not app.identity_verification_required
