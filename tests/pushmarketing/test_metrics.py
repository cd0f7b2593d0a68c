"""GET /metrics: off without a token, refused with a wrong one, and after a send through the
real send path (claim → record; only the provider answers are scripted) the counters and the
scrape-time gauges say what happened."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from campaigns.delivery.send import deliveries_send
from campaigns.models import CampaignRun, Delivery
from tests.delivery_fixtures import run_create

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"  # noqa: S105 - a test value


@pytest.fixture
def metrics_on(settings):  # noqa: ANN001, ANN201
    settings.METRICS_TOKEN = TOKEN
    settings.PROMETHEUS_MULTIPROC_DIR = ""
    return settings


@pytest.fixture
def no_follow_ups(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Tasks campaigns.enqueue hands over after commit (the retry follow-up), kept off the
    broker: these tests run the after-commit callbacks for the ledger's counts."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        "campaigns.enqueue._after_commit", lambda name, args, **kw: calls.append((name, args))
    )
    return calls


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of one authorised scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def messages(samples: dict, provider: str, outcome: str) -> float:
    key = ("pushmarketing_messages_total", (("outcome", outcome), ("provider", provider)))
    return samples.get(key, 0.0)


def test_metrics_endpoint_is_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}", f"bearer  {TOKEN}"],
)
def test_metrics_endpoint_refuses_a_missing_or_wrong_token(client, metrics_on, header, caplog):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"pushmarketing_" not in response.content
    assert TOKEN not in caplog.text


def test_metrics_endpoint_answers_get_only(client, metrics_on):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405


def test_send_results_are_counted_by_provider_and_outcome(
    client, metrics_on, addon_on, push_app, make_devices, scripted_transport, no_follow_ups,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    devices = (
        make_devices(3)
        + make_devices(1, prefix="dead")
        + make_devices(1, prefix="bad")
        + make_devices(2, prefix="busy")
        + make_devices(2, platform="ios")
        + make_devices(1, platform="ios", prefix="dead")
        + make_devices(1, prefix="ok", push_enabled=False)
    )
    run = run_create(app=push_app, devices=devices)
    ids = list(run.deliveries.values_list("id", flat=True))
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_send(run_id=run.id, first_id=min(ids), last_id=max(ids))

    after = scrape(client)
    expected = {
        ("fcm", "sent"): 3,
        ("fcm", "token_invalid"): 1,
        ("fcm", "failed"): 1,
        ("fcm", "retry"): 2,
        ("fcm", "skipped"): 1,
        ("apns", "sent"): 2,
        ("apns", "token_invalid"): 1,
        ("apns", "failed"): 0,
        ("apns", "retry"): 0,
    }
    counted = {key: messages(after, *key) - messages(before, *key) for key in expected}
    assert counted == expected
    # The same figures as the ledger's rows.
    rows = run.deliveries.filter(attempts__gte=1)
    assert rows.filter(status=Delivery.Status.QUEUED).count() == 2
    assert rows.filter(status=Delivery.Status.SENT).count() == 5


def test_a_rolled_back_record_counts_nothing(
    client, metrics_on, addon_on, push_app, make_devices, scripted_transport, no_follow_ups,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    run = run_create(app=push_app, devices=make_devices(2))
    ids = list(run.deliveries.values_list("id", flat=True))
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deliveries_send(run_id=run.id, first_id=min(ids), last_id=max(ids))

    assert callbacks  # recorded, waiting for the commit that never comes here
    assert messages(scrape(client), "fcm", "sent") == messages(before, "fcm", "sent")


def test_gauges_read_queues_waiting_deliveries_and_runs_at_scrape_time(
    client, metrics_on, addon_on, push_app, make_devices
):
    now = timezone.now()
    batch = run_create(app=push_app, devices=make_devices(2))
    Delivery.objects.filter(run=batch).update(created_at=now - timedelta(seconds=120))
    trigger = run_create(app=push_app, devices=make_devices(1), kind=CampaignRun.Kind.TRIGGER)
    # Held for a retry's backoff until later: not waiting yet, so not the oldest.
    Delivery.objects.filter(run=trigger).update(
        created_at=now - timedelta(seconds=600), not_before=now + timedelta(seconds=60)
    )
    paused = run_create(
        app=push_app, devices=make_devices(1), kind=CampaignRun.Kind.API,
        status=CampaignRun.Status.PAUSED,
    )  # fmt: skip
    Delivery.objects.filter(run=paused).update(created_at=now - timedelta(seconds=900))

    samples = scrape(client)

    oldest = "pushmarketing_oldest_queued_delivery_seconds"
    assert 120 <= samples[(oldest, (("queue", "bulk"),))] < 180
    assert samples[(oldest, (("queue", "send"),))] == 0
    in_progress = "pushmarketing_runs_in_progress"
    assert samples[(in_progress, (("kind", "batch"), ("status", "sending")))] == 1
    assert samples[(in_progress, (("kind", "trigger"), ("status", "sending")))] == 1
    assert samples[(in_progress, (("kind", "api"), ("status", "paused")))] == 1
    assert samples[(in_progress, (("kind", "sample"), ("status", "sending")))] == 0
    for queue in ("send", "bulk", "default"):
        assert ("pushmarketing_queue_length", (("queue", queue),)) in samples
    assert samples[("pushmarketing_trigger_outbox_waiting", ())] == 0
    assert samples[("pushmarketing_trigger_outbox_oldest_seconds", ())] == 0
