from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device
from devices.token_health import token_health
from tests.factories import DeviceFactory, MobileAppFactory


@pytest.fixture
def devices_in_every_state(db):
    app = MobileAppFactory(name="Shop")
    now = timezone.now()
    invalid = Device.Status.TOKEN_INVALID
    DeviceFactory.create_batch(3, app=app, platform="ios")
    DeviceFactory(
        app=app,
        platform="ios",
        status=invalid,
        status_reason="Unregistered",
        status_changed_at=now - timedelta(days=1),
    )
    DeviceFactory(
        app=app,
        platform="ios",
        status=invalid,
        status_reason="BadDeviceToken",
        status_changed_at=now,
    )
    DeviceFactory(
        app=app,
        platform="android",
        status=Device.Status.UNREGISTERED,
        status_reason="logout",
        status_changed_at=now,
    )
    DeviceFactory(app=app, platform="android")
    return app


def test_token_health_counts_each_status_per_platform(
    devices_in_every_state, django_assert_num_queries
):
    with django_assert_num_queries(4):
        rows = token_health()
    android, ios = rows
    assert (android["platform"], ios["platform"]) == ("android", "ios")
    assert ios["counts"] == {"active": 3, "token_invalid": 2, "unregistered": 0}
    assert ios["invalid_by_reason"] == {"Unregistered": 1, "BadDeviceToken": 1}
    assert ios["invalid_percent"] == 40.0
    assert android["counts"] == {"active": 1, "token_invalid": 0, "unregistered": 1}
    assert ios["trend"][-1] == 1 and ios["trend"][-2] == 1 and sum(ios["trend"]) == 2


def test_token_health_page_is_admin_only(devices_in_every_state, admin_client, marketer_client):
    assert marketer_client.get(reverse("token-health")).status_code == 403
    response = admin_client.get(reverse("token-health"))
    assert response.status_code == 200
    assert "1 × BadDeviceToken" in response.content.decode()


def test_system_health_reports_database_broker_and_queues(admin_client, marketer_client):
    assert marketer_client.get(reverse("system-health")).status_code == 403
    response = admin_client.get(reverse("system-health"))
    assert response.status_code == 200
    probes = {p.name: p for p in response.context["probes"]}
    assert probes["Database"].ok
    assert probes["Broker"].ok
    assert set(response.context["queues"]) == {"interactive", "send", "bulk", "default"}
    assert response.context["oldest_queued"] is None


def test_workers_the_embedded_broker_cannot_ask_are_not_checked_not_ok(admin_client, settings):
    settings.REDIS_URL = ""  # the embedded default: a filesystem broker, no broadcast
    response = admin_client.get(reverse("system-health"))
    workers = {p.name: p for p in response.context["probes"]}["Workers"]
    assert workers.level == "unknown" and workers.detail.startswith("not checked:")
    assert response.context["level"] != "unknown"  # the others were checked: no alarm raised
    assert "– Not checked" in response.content.decode()


def test_system_health_says_how_far_the_trigger_pipeline_is_behind(admin_client, settings):
    import time_machine

    from devices.trigger_outbox import outbox_add

    settings.TRIGGER_BACKLOG_ALERT_SECONDS = 10
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        probes = {p.name: p for p in admin_client.get(reverse("system-health")).context["probes"]}
        assert probes["Trigger pipeline"].ok
        assert probes["Trigger pipeline"].detail == "keeping up: no activity waits for evaluation"

        outbox_add([101, 102], now=now - timedelta(seconds=3))
        probes = {p.name: p for p in admin_client.get(reverse("system-health")).context["probes"]}
        assert probes["Trigger pipeline"].ok  # a few seconds behind: within the threshold
        assert probes["Trigger pipeline"].detail == (
            "2 activities waiting for evaluation, the oldest for 3 s"
        )

        outbox_add([100], now=now - timedelta(seconds=45))
        response = admin_client.get(reverse("system-health"))
    probe = {p.name: p for p in response.context["probes"]}["Trigger pipeline"]
    assert not probe.ok
    assert probe.detail.startswith("behind by 45 s (alert at 10 s): 3 activities waiting")
    assert "behind by 45 s" in response.content.decode()
