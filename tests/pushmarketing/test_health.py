"""System health turns amber and red, and says which queue or delivery is late."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CampaignRun, Delivery
from pushmarketing.core.broker_queues import message_waiting_since
from pushmarketing.core.celery import SENT_AT_HEADER
from pushmarketing.core.celery import app as celery_app
from pushmarketing.health import Level, Probe
from tests.delivery_fixtures import run_create

pytestmark = pytest.mark.django_db


def _publish(queue: str, *, at: datetime, countdown: float | None = None) -> None:
    """A message on a queue no worker consumes here (private_broker), published at `at`."""
    with time_machine.travel(at, tick=False):
        celery_app.send_task(
            "campaigns.deliveries_send", args=[0, 0, 0], queue=queue, countdown=countdown
        )


def _health(client: Client, *, now: datetime) -> tuple[str, dict, dict[str, Probe]]:
    with time_machine.travel(now, tick=False):
        response = client.get(reverse("system-health"))
    assert response.status_code == 200
    probes = {p.name: p for p in response.context["probes"]}
    return response.content.decode(), response.context, probes


def test_a_stuck_queue_turns_health_red_and_says_which(admin_client, private_broker):
    now = timezone.now()
    _publish("send", at=now - timedelta(seconds=200))
    # kombu's filesystem broker orders files by a millisecond clock (then a random uuid): the
    # second message must come a millisecond later to be second in line.
    time.sleep(0.01)
    _publish("send", at=now - timedelta(seconds=10))
    # A batch legitimately keeps `bulk` busy for minutes: its thresholds are higher.
    _publish("bulk", at=now - timedelta(seconds=200))

    page, context, probes = _health(admin_client, now=now)

    queues = probes["Queues"]
    assert queues.level is Level.ALERT and not queues.ok
    assert queues.detail == (
        "send: the oldest of 2 messages has waited 200 s (warning at 30 s, alert at 120 s)"
    )
    states = {s.name: s for s in context["queue_states"]}
    assert (states["send"].depth, states["send"].waiting_seconds) == (2, 200)
    assert (states["bulk"].level, states["bulk"].waiting_seconds) == (Level.OK, 200)
    assert states["interactive"].depth == 0 and states["interactive"].waiting_seconds is None
    assert context["level"] is Level.ALERT
    assert "✗ Alert" in page and "send: the oldest of 2 messages has waited 200 s" in page


def test_a_slow_queue_turns_health_amber(admin_client, private_broker):
    now = timezone.now()
    _publish("interactive", at=now - timedelta(seconds=45))

    page, context, probes = _health(admin_client, now=now)

    queues = probes["Queues"]
    assert queues.level is Level.WARN
    assert queues.ok  # amber: slow, not broken
    assert queues.detail.startswith("interactive: the oldest of 1 message has waited 45 s")
    assert "⚠ Warning" in page


def test_a_countdown_message_is_not_late_before_its_eta(admin_client, private_broker):
    now = timezone.now()
    # Published 200 s ago for 300 s later: due in 100 s.
    _publish("send", at=now - timedelta(seconds=200), countdown=300)

    _, context, probes = _health(admin_client, now=now)

    assert probes["Queues"].level is Level.OK
    assert probes["Queues"].detail == "moving: 1 message waiting, the oldest for 0 s"


@pytest.mark.parametrize(
    ("headers", "stored_at", "expected"),
    [
        ({SENT_AT_HEADER: 1000.0}, 5.0, 1000.0),  # our header wins over the broker's time
        ({}, 5.0, 5.0),  # published before the header existed: the file's mtime
        ({}, None, None),  # … and on Redis nothing is known
        ({SENT_AT_HEADER: 1000.0, "eta": "1970-01-01T00:20:00+00:00"}, None, 1200.0),
        ({SENT_AT_HEADER: 1000.0, "eta": None}, None, 1000.0),
    ],
)
def test_message_waiting_since(headers, stored_at, expected):  # noqa: ANN001
    raw = json.dumps({"body": "", "headers": headers}).encode()
    assert message_waiting_since(raw, stored_at=stored_at) == expected


def test_message_waiting_since_an_unreadable_message_is_the_brokers_time():
    assert message_waiting_since(b"not json", stored_at=7.0) == 7.0


def _age(delivery_id: int, *, created: datetime, not_before: datetime | None = None) -> None:
    Delivery.objects.filter(pk=delivery_id).update(created_at=created, not_before=not_before)


def test_an_old_due_delivery_turns_health_red_and_held_rows_do_not(
    admin_client, push_app, make_devices, private_broker
):
    now = timezone.now()
    hour = timedelta(hours=1)
    devices = make_devices(4)
    run = run_create(app=push_app, devices=devices[:3], kind=CampaignRun.Kind.TRIGGER)
    held, released, waiting = run.deliveries.order_by("id").values_list("id", flat=True)
    # Held for quiet hours: created long ago, not due for an hour.
    _age(held, created=now - timedelta(seconds=2000), not_before=now + hour)
    _age(released, created=now - timedelta(seconds=2000), not_before=now + hour)
    _age(waiting, created=now, not_before=now + hour)
    # A batch's rows wait minutes behind each other: bulk's thresholds (600 / 1800 s).
    batch = run_create(app=push_app, devices=devices[3:])
    _age(batch.deliveries.get().pk, created=now - timedelta(seconds=400))
    probe = _health(admin_client, now=now)[2]["Queued deliveries"]
    assert (probe.level, probe.detail) == (
        Level.OK,
        "the longest-waiting due delivery (bulk) for 400 s",
    )

    # Released 30 s ago: it has been due since then, not since it was created.
    _age(released, created=now - timedelta(seconds=2000), not_before=now - timedelta(seconds=30))
    assert _health(admin_client, now=now)[2]["Queued deliveries"].level is Level.OK

    _age(waiting, created=now - timedelta(seconds=120))
    page, _, probes = _health(admin_client, now=now)
    probe = probes["Queued deliveries"]
    assert probe.level is Level.WARN
    assert probe.detail == (
        f"send: delivery #{waiting} of trigger run #{run.pk} has been due for 120 s "
        "(warning at 60 s, alert at 300 s)"
    )
    assert f'href="{reverse("run-dashboard", args=[run.pk])}"' in page

    _age(waiting, created=now - timedelta(seconds=400))
    page, context, probes = _health(admin_client, now=now)
    assert probes["Queued deliveries"].level is Level.ALERT
    assert context["level"] is Level.ALERT
    assert "has been due for 400 s (warning at 60 s, alert at 300 s)" in page
