"""UI sign-in lockout with backoff (django-axes, pushmarketing.core.login_lockout)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from pushmarketing.core.models import AuditEntry

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def sign_in(client: Client, password: str) -> int:
    login = {"username": "mark-marketer", "password": password}
    return client.post(reverse("login"), login).status_code


def test_five_wrong_passwords_lock_out_with_backoff_and_audit(marketer_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    with time_machine.travel(START, tick=False):
        assert [sign_in(client, "wrong") for _ in range(5)] == [200] * 4 + [429]
        locked = client.post(
            reverse("login"), {"username": "mark-marketer", "password": "pass-for-tests"}
        )
        assert locked.status_code == 429  # even the right password, while locked
        assert "Too many failed sign-ins" in locked.content.decode()
        assert "Try again in 1 minute" in locked.content.decode()
    entry = AuditEntry.objects.get(action="auth.login_locked_out")
    assert entry.details == {
        "username": "mark-marketer",
        "ip_address": "127.0.0.1",
        "cooloff_seconds": 60,
    }
    # After the cool-off, five more wrong passwords lock out for twice as long.
    with time_machine.travel(START + dt.timedelta(seconds=61), tick=False):
        assert [sign_in(client, "wrong") for _ in range(5)] == [200] * 4 + [429]
    cooloffs = AuditEntry.objects.filter(action="auth.login_locked_out").order_by("pk")
    assert [e.details["cooloff_seconds"] for e in cooloffs] == [60, 120]
    # (A try while locked out restarts the cool-off: axes' default, kept.)
    with time_machine.travel(START + dt.timedelta(seconds=61 + 121), tick=False):
        assert sign_in(client, "pass-for-tests") == 302  # signed in


def test_another_address_is_not_locked_out(marketer_user):
    client = Client()
    assert [sign_in(client, "wrong") for _ in range(5)][-1] == 429
    elsewhere = Client(REMOTE_ADDR="10.0.0.7")
    login = {"username": "mark-marketer", "password": "pass-for-tests"}
    assert elsewhere.post(reverse("login"), login).status_code == 302
