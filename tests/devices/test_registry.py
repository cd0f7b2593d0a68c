# ruff: noqa: F811 - pytest fixtures imported from tests.api_fixtures are re-bound as arguments
from __future__ import annotations

import logging
import threading
import time

import pytest
from django.db import connection, connections
from kombu.exceptions import OperationalError

from devices import trigger_outbox
from devices.models import Device, DeviceActivity, TriggerOutbox
from devices.services import registration
from devices.services.rules import StaleCredentials
from devices.trigger_listeners import trigger_kinds_forget
from devices.trigger_outbox import pump_sleep, pump_wake
from pushmarketing.core.celery import app as celery_app
from tests.api_fixtures import IOS_TOKEN, clean_cache, sdk, sdk_app  # noqa: F401
from tests.factories import MobileAppFactory


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def record(name, args=None, queue=None, **kwargs):
        calls.append((name, args, queue))

    monkeypatch.setattr(celery_app, "send_task", record)
    return calls


WAKE = ("campaigns.triggers_drain", None, "send")


def outbox() -> list[int]:
    return sorted(TriggerOutbox.objects.values_list("activity_id", flat=True))


@pytest.fixture
def listening(sdk_app) -> None:
    """Active trigger campaigns for every kind these tests record: without a listener the SDK
    path sends no trigger message at all."""
    from campaigns.models import Campaign
    from tests.factories import PushNotificationFactory

    push = PushNotificationFactory(app=sdk_app)
    for kind in ("installed", "opened", "push_registered", "session", "push_tapped"):
        Campaign.objects.create(
            name=f"on {kind}", kind=Campaign.Kind.TRIGGER, status=Campaign.Status.ACTIVE,
            app=sdk_app, notification=push, trigger={"event": kind},
        )  # fmt: skip


@pytest.mark.django_db
def test_no_trigger_message_when_no_active_trigger_listens(
    sdk, sdk_app, sent, django_capture_on_commit_callbacks
):
    from campaigns.models import Campaign
    from campaigns.services import campaign_activate
    from tests.campaign_fixtures import approve
    from tests.factories import PushNotificationFactory, UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        sdk.register("inst-1", push_token=IOS_TOKEN)
    assert sent == [] and outbox() == []  # nobody listens: nothing to evaluate, no broker

    campaign = Campaign.objects.create(
        name="on open", kind=Campaign.Kind.TRIGGER, app=sdk_app,
        notification=approve(PushNotificationFactory(app=sdk_app)), trigger={"event": "opened"},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        campaign_activate(actor=UserFactory(role="marketer"), campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        response = sdk.register("inst-1")
    assert outbox() == response.json()["activity_ids"]  # only the listened kind (opened)
    assert sent == [WAKE]


@pytest.mark.django_db
def test_only_an_active_trigger_of_this_app_for_the_kind_makes_register_send(
    sdk, sdk_app, sent, django_capture_on_commit_callbacks
):
    # PostgreSQL asks this inside the register statement, elsewhere through the cache: the
    # same four conditions either way.
    from campaigns.models import Campaign
    from tests.factories import PushNotificationFactory

    other_app = MobileAppFactory()
    near_misses = [
        (other_app, Campaign.Kind.TRIGGER, Campaign.Status.ACTIVE, "opened"),
        (sdk_app, Campaign.Kind.TRIGGER, Campaign.Status.PAUSED, "opened"),
        (sdk_app, Campaign.Kind.BATCH, Campaign.Status.ACTIVE, "opened"),
        (sdk_app, Campaign.Kind.TRIGGER, Campaign.Status.ACTIVE, "session"),
    ]
    for app, kind, status, event in near_misses:
        Campaign.objects.create(
            name=f"{kind} {status} {event}", kind=kind, status=status, app=app,
            notification=PushNotificationFactory(app=app), trigger={"event": event},
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        sdk.register("inst-1", push_token=IOS_TOKEN)
    assert sent == [] and outbox() == []

    Campaign.objects.create(
        name="on install", kind=Campaign.Kind.TRIGGER, status=Campaign.Status.ACTIVE,
        app=sdk_app, notification=PushNotificationFactory(app=sdk_app),
        trigger={"event": "installed"},
    )  # fmt: skip
    trigger_kinds_forget(sdk_app.id)  # created directly, not through the campaign services
    with django_capture_on_commit_callbacks(execute=True):
        response = sdk.register("inst-2", push_token=IOS_TOKEN[::-1])
    installed = DeviceActivity.objects.get(device__installation_id="inst-2", kind="installed")
    assert installed.id in response.json()["activity_ids"]
    assert outbox() == [installed.id]
    assert sent == [WAKE]


@pytest.mark.django_db
@pytest.mark.usefixtures("listening")
def test_register_writes_the_outbox_and_wakes_the_pump_after_commit(
    sdk, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sdk.register("inst-1", push_token=IOS_TOKEN)
    ids = sorted(response.json()["activity_ids"])
    assert ids == sorted(DeviceActivity.objects.values_list("id", flat=True))
    assert outbox() == ids  # written with the activities
    assert len(callbacks) == 1
    assert sent == []  # nothing leaves before the transaction commits
    callbacks[0]()
    assert sent == [WAKE]


@pytest.mark.django_db
@pytest.mark.usefixtures("listening")
def test_calls_while_a_pump_is_awake_add_rows_but_no_messages(
    sdk, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = sdk.register("inst-1").json()["activity_ids"]
    assert sent == [WAKE]
    with django_capture_on_commit_callbacks(execute=True):
        response = sdk.post(
            "devices/inst-1/activities",
            [{"kind": "opened"}, {"kind": "session", "length_seconds": 3}],
        )
        sdk.register("inst-2")
    assert outbox() == sorted(
        [*first, *response.json()["activity_ids"]]
        + list(
            DeviceActivity.objects.filter(device__installation_id="inst-2").values_list(
                "id", flat=True
            )
        )
    )
    assert sent == [WAKE]  # the awake pump drains them all: one message, not one per call

    pump_sleep()  # the pump found the outbox empty
    with django_capture_on_commit_callbacks(execute=True):
        sdk.post("devices/inst-1/activities", {"kind": "opened"})
    assert sent == [WAKE, WAKE]


@pytest.mark.django_db
def test_a_process_that_saw_a_pump_awake_trusts_it_for_the_recheck_window(sent, settings):
    """Another process's pump lowered the flag (not this process's pump_sleep): this process
    does not ask again within WAKE_RECHECK_SECONDS, and does after it. The pump's grace before
    its last look (campaigns/test_trigger_pump.py) is what makes skipping safe."""
    pump_wake()
    assert sent == [WAKE]
    trigger_outbox._flag_lower()  # as a pump in a worker process does
    pump_wake()
    assert sent == [WAKE]
    time.sleep(trigger_outbox.WAKE_RECHECK_SECONDS)
    pump_wake()
    assert sent == [WAKE, WAKE]
    assert trigger_outbox.PUMP_SLEEP_GRACE_SECONDS > trigger_outbox.WAKE_RECHECK_SECONDS


@pytest.mark.django_db
def test_rejected_call_sends_nothing(sdk, sent, django_capture_on_commit_callbacks):
    sdk.register("inst-1")
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = sdk.post("devices/inst-1/activities", {"kind": "push_tapped", "delivery_id": 5})
    assert response.status_code == 400
    assert callbacks == [] and sent == []


@pytest.mark.django_db
@pytest.mark.usefixtures("listening")
def test_unreachable_broker_is_logged_and_the_call_still_succeeds(
    sdk, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(celery_app, "send_task", broken)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = sdk.register("inst-1", push_token=IOS_TOKEN)
    assert response.status_code == 201
    assert "SDK: could not wake the trigger pump: OperationalError" in caplog.text
    assert len(outbox()) == 3  # safe in the outbox: the beat's pump tick evaluates them
    assert IOS_TOKEN not in caplog.text


@pytest.mark.django_db
def test_service_register_is_idempotent_and_moves_token(sent):
    app = MobileAppFactory()
    data = {"installation_id": "a", "platform": "ios", "push_token": IOS_TOKEN}
    first = registration.device_register(app_id=app.pk, secret_hash=app.sdk_secret_hash, data=data)
    again = registration.device_register(app_id=app.pk, secret_hash=app.sdk_secret_hash, data=data)
    assert first.first_open and not again.first_open
    assert first.device_id == again.device_id
    moved = registration.device_register(
        app_id=app.pk, secret_hash=app.sdk_secret_hash, data={**data, "installation_id": "b"}
    )
    assert moved.token_registered
    tokens = dict(Device.objects.values_list("installation_id", "push_token"))
    assert tokens == {"a": "", "b": IOS_TOKEN}


@pytest.mark.django_db
def test_register_with_a_stale_secret_hash_writes_nothing(sent):
    app = MobileAppFactory()
    data = {"installation_id": "a", "platform": "ios", "push_token": IOS_TOKEN}
    with pytest.raises(StaleCredentials):
        registration.device_register(app_id=app.pk, secret_hash="0" * 64, data=data)
    assert not Device.objects.exists() and not DeviceActivity.objects.exists()
    # Internal callers (seed data) pass no hash and are not checked.
    assert registration.device_register(app_id=app.pk, data=data).first_open


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_registrations_create_one_device(sent):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (CI runs it there)")
    app = MobileAppFactory()
    barrier = threading.Barrier(8)
    results: list[registration.Registration] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            barrier.wait()
            data = {"installation_id": "same", "platform": "ios", "push_token": IOS_TOKEN}
            results.append(
                registration.device_register(
                    app_id=app.pk, secret_hash=app.sdk_secret_hash, data=data
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Device.objects.filter(installation_id="same").count() == 1
    assert sum(r.first_open for r in results) == 1
    assert DeviceActivity.objects.filter(kind="installed").count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("listening")
def test_pump_wake_up_reaches_the_real_redis_broker(
    sdk, settings, django_capture_on_commit_callbacks
):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the broker); CI and the PostgreSQL runs set it")
    import base64
    import json

    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def pump_messages() -> list[bytes]:
        return [
            raw
            for raw in client.lrange("send", 0, -1)
            if json.loads(raw)["headers"].get("task") == "campaigns.triggers_drain"
        ]

    before = pump_messages()
    with django_capture_on_commit_callbacks(execute=True):
        sdk.register("broker-check", push_token=IOS_TOKEN)
    after = pump_messages()
    assert len(after) == len(before) + 1, "no campaigns.triggers_drain message on 'send'"
    found = after[0] if not before else next(raw for raw in after if raw not in before)
    args, kwargs, _ = json.loads(base64.b64decode(json.loads(found)["body"]))
    assert args == [] and kwargs == {}  # ids travel in the outbox, not in the message
    client.lrem("send", 1, found)  # nobody consumes it here; leave the queue as it was


@pytest.mark.django_db
@pytest.mark.usefixtures("listening")
def test_a_listened_custom_action_goes_to_the_outbox_in_its_one_statement(
    sdk, sent, django_capture_on_commit_callbacks
):
    sdk.register("inst-1")
    pump_sleep()  # the register call woke a pump; say it drained and slept
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = sdk.post(
            "devices/inst-1/activities",
            [
                {"kind": "session", "length_seconds": 3},
                {"kind": "custom_action", "action_name": "x"},
            ],
        )
    session = response.json()["activity_ids"][0]  # the listening fixture hears sessions only
    assert session in outbox() and response.json()["activity_ids"][1] not in outbox()
    assert sent == [WAKE]


@pytest.mark.django_db
def test_deleting_an_app_deletes_its_activities_through_its_devices():
    """Activities carry no cascade of their own on the app key (and no index for one): they go
    with their devices. The other app's history is untouched."""
    doomed, kept = MobileAppFactory(), MobileAppFactory()
    for app in (doomed, kept):
        for n in range(3):
            registration.device_register(
                app_id=app.id,
                data={"installation_id": f"inst-{app.id}-{n}", "platform": "ios",
                      "push_token": f"{app.id:032x}{n:032x}"},
            )  # fmt: skip
    assert DeviceActivity.objects.filter(app=doomed).count() == 9  # installed, opened, token

    doomed.delete()

    assert not Device.objects.filter(app_id=doomed.id).exists()
    assert not DeviceActivity.objects.filter(app_id=doomed.id).exists()
    assert DeviceActivity.objects.filter(app=kept).count() == 9
