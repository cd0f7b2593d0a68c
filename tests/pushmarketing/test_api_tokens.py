# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

import pytest
from django.urls import reverse

from pushmarketing.core.api_tokens import (
    ApiTokenError,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from pushmarketing.core.models import ApiToken, AuditEntry
from pushmarketing.core.secrets import keyed_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_stores_only_prefix_and_hash_and_audits(marketer_user):
    token, plaintext = api_token_create(user=marketer_user, name="CRM sync")
    assert plaintext.startswith("pmt_") and len(plaintext) > 40
    row = ApiToken.objects.get()
    assert row.prefix == plaintext[:12]
    assert row.token_hash == keyed_hash(plaintext)
    assert plaintext not in {row.prefix, row.token_hash, row.name}
    entry = AuditEntry.objects.get(action="api_token.created")
    assert entry.actor == marketer_user and entry.details == {
        "prefix": row.prefix,
        "name": "CRM sync",
    }
    assert plaintext not in str(entry.details) + entry.summary


def test_authenticate_accepts_active_and_refuses_wrong_revoked_inactive(marketer_user):
    token, plaintext = api_token_create(user=marketer_user, name="x")
    assert api_token_authenticate(plaintext=plaintext) == token
    wrong_last = "B" if plaintext.endswith("A") else "A"  # always a different token
    assert api_token_authenticate(plaintext=plaintext[:-1] + wrong_last) is None
    assert api_token_authenticate(plaintext="garbage") is None
    api_token_revoke(token=token, actor=marketer_user)
    assert api_token_authenticate(plaintext=plaintext) is None
    _, other = api_token_create(user=marketer_user, name="y")
    marketer_user.is_active = False
    marketer_user.save()
    assert api_token_authenticate(plaintext=other) is None


def test_revoke_twice_audits_once(marketer_user):
    token, _ = api_token_create(user=marketer_user, name="x")
    api_token_revoke(token=token, actor=marketer_user)
    api_token_revoke(token=token, actor=marketer_user)
    assert AuditEntry.objects.filter(action="api_token.revoked").count() == 1
    assert token.revoked_at is not None


def test_name_is_required(marketer_user):
    with pytest.raises(ApiTokenError) as excinfo:
        api_token_create(user=marketer_user, name="   ")
    assert excinfo.value.field == "name"


def test_token_page_lists_only_own_tokens(marketer_client, marketer_user):
    api_token_create(user=marketer_user, name="mine")
    api_token_create(user=UserFactory(role="admin"), name="someone else's")
    response = marketer_client.get(reverse("api-token-list"))
    assert response.status_code == 200
    assert b"mine" in response.content and b"someone else" not in response.content


def test_token_page_empty_state_and_login_required(client, approver_client):
    assert client.get(reverse("api-token-list")).status_code == 302
    response = approver_client.get(reverse("api-token-list"))
    assert b"You have no API tokens yet" in response.content


def test_create_shows_plaintext_once(marketer_client):
    response = marketer_client.post(reverse("api-token-create"), {"name": "CRM"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    assert token.prefix in page and "shown only this once" in page
    later = marketer_client.get(reverse("api-token-list")).content.decode()
    assert token.prefix in later and "shown only this once" not in later


def test_create_with_blank_name_shows_error(marketer_client):
    response = marketer_client.post(reverse("api-token-create"), {"name": ""})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_revoke_own_token_and_not_others(marketer_client, marketer_user):
    mine, _ = api_token_create(user=marketer_user, name="mine")
    theirs, _ = api_token_create(user=UserFactory(), name="theirs")
    response = marketer_client.post(reverse("api-token-revoke", args=[theirs.pk]))
    assert response.status_code == 404
    response = marketer_client.post(reverse("api-token-revoke", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert marketer_client.get(reverse("api-token-revoke", args=[mine.pk])).status_code == 405


def test_revoke_requires_csrf(marketer_user):
    from django.test import Client

    token, _ = api_token_create(user=marketer_user, name="mine")
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer_user)
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
