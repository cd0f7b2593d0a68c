"""The trigger pump (campaigns.trigger_pump): the outbox drained in batches, each activity
evaluated once, work per batch independent of the backlog, stale triggers skipped."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import trigger_pump
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.services import campaign_activate
from campaigns.trigger_pump import chunks_send_now, triggers_drain, triggers_drain_batch
from devices.models import Device, DeviceActivity, Lead, TriggerOutbox
from devices.trigger_outbox import (
    PUMP_SLEEP_GRACE_SECONDS,
    WAKE_RECHECK_SECONDS,
    outbox_add,
    outbox_backlog,
)
from pushmarketing.core.models import AddOn
from tests.campaign_fixtures import approve, configure_app, device, make_campaign
from tests.factories import LeadFactory, MobileAppFactory, PushNotificationFactory


def active(app, push, **fields) -> Campaign:
    fields.setdefault("trigger", {"event": "opened"})
    campaign = make_campaign(app=app, notification=push, kind="trigger", **fields)
    return campaign_activate(actor=None, campaign=campaign)


def opened(
    devices: list[Device], *, received_at: dt.datetime | None = None, kind: str = "opened"
) -> list[int]:
    """Activities as the SDK records them: the rows, and their outbox entries."""
    rows = DeviceActivity.objects.bulk_create(
        DeviceActivity(app=d.app, device=d, lead=d.lead, kind=kind, occurred_at=timezone.now())
        for d in devices
    )
    ids = [row.pk for row in rows]
    if received_at is not None:
        DeviceActivity.objects.filter(pk__in=ids).update(created_at=received_at)
    outbox_add(ids, now=received_at or timezone.now())
    return ids


def devices_bulk(app, count: int, *, prefix: str) -> list[Device]:
    """Eligible devices (opened, token, a lead), many at once."""
    leads = Lead.objects.bulk_create(Lead(email=f"{prefix}-{i}@example.com") for i in range(count))
    return Device.objects.bulk_create(
        Device(
            app=app,
            lead=leads[i],
            platform="android",
            installation_id=f"{prefix}-{i}",
            push_token=f"{prefix}-token-{i}",
            first_opened_at=timezone.now(),
            last_opened_at=timezone.now(),
        )
        for i in range(count)
    )


@pytest.mark.django_db
def test_one_batch_evaluates_every_waiting_activity_and_sends_exactly_its_rows(
    app, push, addon_on, enqueued, scripted_transport
):
    campaign = active(app, push, qualification="every_time")
    phones = [device(app) for _ in range(5)]
    opened(phones)
    assert outbox_backlog()[0] == 5

    assert triggers_drain() == 5
    assert outbox_backlog() == (0, None)
    run = CampaignRun.objects.get(campaign=campaign)
    assert sorted(Delivery.objects.values_list("device_id", "status")) == sorted(
        (p.pk, "sent") for p in phones
    )
    # Sent by the pump itself after its commit, in one transport call: no send task, no hop.
    assert scripted_transport.calls == 1
    assert sorted(p.token for p in scripted_transport.sent) == sorted(p.push_token for p in phones)
    assert enqueued.named("campaigns.deliveries_send") == []
    run.refresh_from_db()
    assert (run.total, run.sent_android) == (5, 5)


@pytest.mark.django_db
def test_work_per_batch_does_not_grow_with_the_backlog(app, push, addon_on, enqueued):
    campaign = active(app, push, qualification="every_time")
    stream = CampaignRun.objects.get(campaign=campaign)

    def evaluate_counting(count: int, prefix: str) -> tuple[int, int]:
        opened(devices_bulk(app, count, prefix=prefix))
        with CaptureQueriesContext(connection) as queries:
            taken, due = triggers_drain_batch()
        assert taken == count
        # The chunks to send name exactly the rows this batch made.
        made = Delivery.objects.filter(device__installation_id__startswith=f"{prefix}-")
        ids = sorted(made.values_list("id", flat=True))
        assert due == [(stream.pk, ids[0], ids[-1])]
        return len(queries), len(due)

    quiet = evaluate_counting(20, "quiet")
    # 10,000 queued rows already waiting in the same stream run (a send backlog).
    Delivery.objects.bulk_create(
        Delivery(run=stream, device=d, platform="android", status="queued")
        for d in devices_bulk(app, 10_000, prefix="backlog")
    )
    loaded = evaluate_counting(400, "busy")
    # The same statements and one chunk per batch whatever the backlog and the batch size:
    # nothing re-scans the run (20x the activities, a 10,000-row backlog, equal work).
    assert loaded == quiet == (quiet[0], 1)
    assert enqueued.tasks == []  # and nothing went through the broker
    assert Delivery.objects.filter(run=stream).count() == 10_000 + 20 + 400


@pytest.mark.django_db
def test_a_batch_larger_than_a_chunk_is_sent_in_chunks(
    app, push, addon_on, settings, scripted_transport
):
    settings.PUSH_CHUNK_SIZE = 100
    active(app, push, qualification="every_time")
    opened(devices_bulk(app, 250, prefix="p"))
    taken, due = triggers_drain_batch(limit=500)
    assert (taken, len(due)) == (250, 3)  # ceil(250 / 100)
    chunks_send_now(due)
    assert scripted_transport.calls == 3
    assert Delivery.objects.filter(status="sent").count() == 250


@pytest.mark.django_db
def test_a_full_batch_wakes_a_second_pump(app, push, addon_on, scripted_transport, monkeypatch):
    woken: list[str] = []
    monkeypatch.setattr("campaigns.enqueue._send", lambda name, args, **kw: woken.append(name))
    active(app, push, qualification="every_time")
    opened(devices_bulk(app, 25, prefix="p"))
    assert triggers_drain(batch_size=10) == 25
    # The first full batch asked for help (a backlog); the pump then drained the rest.
    assert woken == ["campaigns.triggers_drain"]
    assert Delivery.objects.filter(status="sent").count() == 25


@pytest.mark.django_db
def test_a_row_committed_while_the_pump_lowers_its_flag_is_taken_by_its_last_look(
    app, push, addon_on, scripted_transport, monkeypatch
):
    """An SDK process that saw the flag up shortly before skips waking (devices.trigger_outbox):
    its row must be taken by the last look, which comes a grace after the flag is lowered."""
    active(app, push, qualification="every_time")
    late = devices_bulk(app, 1, prefix="late")
    waits: list[float] = []

    def grace(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            opened(late)  # committed during the grace by a caller that did not wake anyone

    monkeypatch.setattr(trigger_pump.time, "sleep", grace)
    opened(devices_bulk(app, 2, prefix="p"))
    assert triggers_drain() == 3
    assert waits[0] >= PUMP_SLEEP_GRACE_SECONDS > WAKE_RECHECK_SECONDS
    assert Delivery.objects.filter(status="sent").count() == 3


@pytest.mark.django_db
def test_a_chunk_whose_inline_send_fails_goes_to_the_send_lane(
    app, push, addon_on, enqueued, monkeypatch
):
    active(app, push)
    opened([device(app)])

    def provider_down(**kwargs):  # noqa: ANN003, ANN202
        raise RuntimeError("transport runtime not started")

    monkeypatch.setattr(trigger_pump, "deliveries_send", provider_down)
    assert triggers_drain() == 1
    row = Delivery.objects.get()
    assert enqueued.named("campaigns.deliveries_send") == [(row.run_id, row.pk, row.pk)]


@pytest.mark.django_db
def test_a_trigger_past_its_send_window_is_skipped_with_its_reason(
    app, push, addon_on, scripted_transport
):
    default = active(app, push, name="default window")
    wide = active(
        app, push, name="wide window", trigger={"event": "opened", "send_within_minutes": 180}
    )
    phone = device(app)
    opened([phone], received_at=timezone.now() - dt.timedelta(minutes=90))

    assert triggers_drain() == 1
    by_campaign = {
        d.run.campaign_id: (d.status, d.reason) for d in Delivery.objects.select_related("run")
    }
    assert by_campaign == {default.pk: ("skipped", "trigger_stale"), wide.pk: ("sent", "")}
    assert [p.token for p in scripted_transport.sent] == [phone.push_token]  # the wide one only


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("qualification", "period", "expected"),
    [("once", None, 1), ("once_per", 24, 1), ("every_time", None, 3)],
)
def test_qualification_is_exact_within_one_batch(
    app, push, addon_on, scripted_transport, qualification, period, expected
):
    campaign = active(app, push, qualification=qualification, qualification_period_hours=period)
    lead = LeadFactory()
    phone, tablet = device(app, lead=lead), device(app, lead=lead)
    opened([phone, tablet, phone])  # one person, three opens, one batch
    assert triggers_drain() == 3
    assert Delivery.objects.filter(run__campaign=campaign, status="sent").count() == expected
    # A later batch: "once" stays once; "once per 24 h" waits; "every time" fires again.
    opened([tablet])
    triggers_drain()
    again = {"once": 1, "once_per": 1, "every_time": 4}[qualification]
    assert Delivery.objects.filter(run__campaign=campaign, status="sent").count() == again


@pytest.mark.django_db
def test_a_failed_batch_goes_back_to_the_outbox(
    app, push, addon_on, scripted_transport, monkeypatch
):
    active(app, push)
    ids = opened([device(app)])

    def lost_connection(**kwargs):  # noqa: ANN003, ANN202
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(trigger_pump, "triggers_evaluate", lost_connection)
    with pytest.raises(OperationalError):
        triggers_drain_batch()
    assert list(TriggerOutbox.objects.values_list("activity_id", flat=True)) == ids
    monkeypatch.undo()
    assert triggers_drain() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_pumps_racing_on_one_outbox_evaluate_every_activity_exactly_once(scripted_transport):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (CI runs it there)")
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = configure_app(MobileAppFactory())
    campaign = active(app, approve(PushNotificationFactory(app=app)), qualification="every_time")
    phones = devices_bulk(app, 100, prefix="race")
    for _ in range(6):
        opened(phones)  # 600 activities, 6 per phone
    errors: list[BaseException] = []
    counts: list[int] = []

    def pump() -> None:
        try:
            # A budget no slow machine reaches: a pump handing over mid-way is another test.
            counts.append(triggers_drain(batch_size=40, budget_seconds=120))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    start = threading.Barrier(3)

    def pump_together() -> None:
        start.wait()
        pump()

    threads = [threading.Thread(target=pump_together) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(counts) == 600, counts  # none evaluated twice, none missed
    assert sum(1 for c in counts if c) >= 2, counts  # they did race: the work was shared
    assert TriggerOutbox.objects.count() == 0
    per_phone = Delivery.objects.filter(run__campaign=campaign).values_list("device_id", flat=True)
    assert sorted(per_phone) == sorted([p.pk for p in phones] * 6)


def login(phone: Device, email: str) -> None:
    from devices.services.leads import device_lead_associate

    device_lead_associate(
        app_id=phone.app_id, installation_id=phone.installation_id, email=email, attributes={}
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "login_before_the_pump", [True, False], ids=["login-at-1s", "login-at-50s"]
)
def test_a_first_open_reaches_whoever_logs_in_however_soon_they_do(
    app, push, addon_on, scripted_transport, login_before_the_pump
):
    # "Welcome on first open": the open comes before the login. Whether the pump sees the
    # open before or after the login, the outcome is the same: the push, for that lead.
    from devices.models import TriggerWait

    campaign = active(app, push, trigger={"event": "installed"})  # waits 10 min by default
    phone = device(app, lead=None)
    opened([phone], kind="installed")
    if login_before_the_pump:
        login(phone, "ada@example.com")
    triggers_drain()
    if not login_before_the_pump:
        assert Delivery.objects.count() == 0
        assert TriggerWait.objects.filter(campaign_id=campaign.pk).count() == 1
        login(phone, "ada@example.com")  # 50 s later
        triggers_drain()
    delivery = Delivery.objects.get()
    assert (delivery.device_id, delivery.status) == (phone.pk, "sent")
    assert delivery.lead_id == Device.objects.get(pk=phone.pk).lead_id
    assert not TriggerWait.objects.exists()


@pytest.mark.django_db
def test_a_wait_that_runs_out_sends_nothing_even_if_someone_logs_in_later(
    app, push, addon_on, scripted_transport
):
    import time_machine

    from devices.models import TriggerWait

    active(app, push, trigger={"event": "installed", "wait_for_lead_minutes": 5})
    phone = device(app, lead=None)
    opened([phone], kind="installed")
    triggers_drain()
    assert TriggerWait.objects.count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        triggers_drain()  # the pump's quiet moment drops waits that ran out
        assert not TriggerWait.objects.exists()
        login(phone, "late@example.com")
        triggers_drain()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_only_the_campaign_that_waited_is_evaluated_again(app, push, addon_on, scripted_transport):
    waiting = active(app, push, name="waits", trigger={"event": "installed"})
    active(
        app, push, name="does not wait",
        trigger={"event": "installed", "wait_for_lead_minutes": 0}, qualification="every_time",
    )  # fmt: skip
    phone = device(app, lead=None)
    opened([phone], kind="installed")
    triggers_drain()
    login(phone, "bo@example.com")
    triggers_drain()
    # The campaign that did not wait judged the anonymous device then; it is not asked again.
    assert list(Delivery.objects.values_list("run__campaign_id", flat=True)) == [waiting.pk]
