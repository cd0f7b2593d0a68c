from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.simulator_views import _phone_view

pytestmark = pytest.mark.django_db


def test_inbox_is_hidden_when_simulator_disabled(addon_on, marketer_client, settings):
    url = reverse("simulator-inbox")  # routed: the URLconf was loaded with the simulator on
    settings.PUSH_SIMULATOR_ENABLED = False
    assert marketer_client.get(url).status_code == 404


def test_inbox_is_for_marketers_and_admins(addon_on, approver_client):
    assert approver_client.get(reverse("simulator-inbox")).status_code == 403


def test_inbox_explains_when_simulator_is_down(addon_on, marketer_client, settings):
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.PUSH_SIMULATOR_HOST = "127.0.0.1"
    settings.PUSH_SIMULATOR_FCM_PORT = 9  # discard port: nothing listens
    page = marketer_client.get(reverse("simulator-inbox")).content.decode()
    assert "The simulator could not be reached" in page


def test_phone_view_reads_both_providers():
    fcm = _phone_view(
        {
            "provider": "fcm",
            "received_at": 0,
            "message": {"notification": {"title": "T", "body": "B", "image": "https://i/x.png"}},
        }
    )
    apns = _phone_view(
        {
            "provider": "apns",
            "received_at": 0,
            "message": {"aps": {"alert": {"title": "T", "subtitle": "S", "body": "B"}}},
        }
    )
    assert (fcm["title"], fcm["body"], fcm["image"]) == ("T", "B", "https://i/x.png")
    assert (apns["title"], apns["subtitle"], apns["body"]) == ("T", "S", "B")
