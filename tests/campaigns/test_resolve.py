from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import resolve, services
from campaigns.ledger import inserts as ledger_inserts
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.runs import run_open
from campaigns.lifecycle import LifecycleError
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.rules import CampaignError
from devices.models import Device
from tests.campaign_fixtures import (
    deliveries_mark,
    device,
    make_campaign,
    run_finish,
    run_started,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def running(app, push, **fields) -> Campaign:
    """A batch campaign about to be sent (campaign_start opens its run)."""
    return make_campaign(app=app, notification=push, **fields)


def resolving_run(campaign: Campaign) -> CampaignRun:
    """A run opened by the ledger as campaign_start opens one (`resolving`)."""
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    return run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.RESOLVING,
        campaign_id=campaign.pk,
        notification_id=campaign.notification_id,
        app_id=campaign.app_id,
        content=campaign.notification.approved_content,
        now=timezone.now(),
    )


def test_batch_run_reaches_every_eligible_device_once_and_no_one_else(
    app, push, addon_on, dispatched
):
    lead = LeadFactory()
    eligible = {device(app, lead=lead).pk, device(app, "ios", lead=lead).pk, device(app).pk}
    device(app, first_opened_at=None)
    device(app, push_enabled=False)
    device(app, status=Device.Status.TOKEN_INVALID)
    device(app, lead=None)
    campaign = running(app, push)
    run = run_started(campaign)
    rows = Delivery.objects.filter(run=run)
    assert set(rows.values_list("device_id", flat=True)) == eligible
    assert rows.filter(status="queued").count() == 3
    run.refresh_from_db()
    assert (run.status, run.total, run.queued_android, run.queued_ios) == ("sending", 3, 2, 1)
    assert run.content == push.approved_content
    assert dispatched.calls == [(run.pk, "bulk")]


def test_resolution_statement_count_does_not_grow_with_the_audience(
    app, push, addon_on, dispatched
):
    def statements(n: int) -> int:
        for _ in range(n):
            device(app)
        campaign = running(app, push, frequency_cap={"max": 2, "per": "day"})
        run = resolving_run(campaign)
        with CaptureQueriesContext(connection) as ctx:
            resolve.run_resolve(run_id=run.pk)
        run.refresh_from_db()
        assert run.total == Device.objects.filter(app=app).count()
        return len(ctx.captured_queries)

    assert statements(2) == statements(40)


def test_insert_is_chunked_by_device_id(app, push, addon_on, monkeypatch):
    monkeypatch.setattr(ledger_inserts, "CHUNK", 3)
    for _ in range(7):
        device(app)
    campaign = running(app, push)
    run = resolving_run(campaign)
    with CaptureQueriesContext(connection) as ctx:
        inserted = ledger_inserts.deliveries_insert(
            run=run,
            audience=Device.objects.filter(app=app),
            now=timezone.now(),
        )
    assert inserted == 7
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    # ON CONFLICT DO NOTHING: re-running a slice never duplicates a device in a run.
    again = ledger_inserts.deliveries_insert(
        run=run, audience=Device.objects.filter(app=app), now=timezone.now()
    )
    assert again == 0
    assert Delivery.objects.filter(run=run).count() == 7


def test_qualification_once_excludes_leads_already_sent_but_keeps_their_second_device(
    app, push, addon_on, dispatched
):
    lead, other = LeadFactory(), LeadFactory()
    a1, a2, b = device(app, lead=lead), device(app, lead=lead), device(app, lead=other)
    campaign = running(app, push, qualification="once")
    first = run_started(campaign)
    assert set(first.deliveries.values_list("device_id", flat=True)) == {a1.pk, a2.pk, b.pk}
    deliveries_mark(first.deliveries.filter(device=b), status="sent", sent_at=timezone.now())
    deliveries_mark(first.deliveries.filter(lead_id=lead.pk), status="failed")
    assert run_finish(first).status == "completed"
    second = run_started(campaign)
    # b's lead was sent; lead's earlier deliveries failed, so lead still qualifies.
    assert set(second.deliveries.values_list("device_id", flat=True)) == {a1.pk, a2.pk}


def test_qualification_once_per_period_and_every_time(app, push, addon_on, dispatched):
    dev = device(app)
    campaign = running(app, push, qualification="once_per", qualification_period_hours=24)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        first = run_started(campaign)
        deliveries_mark(first.deliveries.all(), status="sent", sent_at=timezone.now())
        run_finish(first)
    with time_machine.travel(dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC), tick=False):
        within = run_started(campaign)
        assert within.total == 0
        assert within.status == "completed"  # nothing to send: done at resolution
    with time_machine.travel(dt.datetime(2026, 3, 2, 13, tzinfo=dt.UTC), tick=False):
        after = run_started(campaign)
        assert list(after.deliveries.values_list("device_id", flat=True)) == [dev.pk]
        deliveries_mark(after.deliveries.all(), status="sent", sent_at=timezone.now())
        run_finish(after)
    Campaign.objects.filter(pk=campaign.pk).update(qualification="every_time")
    again = run_started(campaign)
    assert again.total == 1


def test_frequency_cap_skips_leads_over_the_cap_across_campaigns(app, push, addon_on, dispatched):
    capped_lead, free_lead = LeadFactory(), LeadFactory()
    capped_dev, free_dev = device(app, lead=capped_lead), device(app, lead=free_lead)
    other = running(app, push, name="Other campaign")
    now = timezone.now()
    for hours in (1, 30):  # one inside the day, one outside
        run = run_open(
            kind=CampaignRun.Kind.BATCH,
            status=CampaignRun.Status.SENDING,
            campaign_id=other.pk,
            notification_id=push.pk,
            app_id=app.pk,
            content={},
            now=now,
        )
        deliveries_insert_returning(
            run_id=run.pk,
            rows=[NewDelivery(device_id=capped_dev.pk, lead_id=capped_lead.pk, platform="android")],
            now=now,
        )
        deliveries_mark(
            run.deliveries.all(), status="sent", sent_at=now - dt.timedelta(hours=hours)
        )
    campaign = running(app, push, frequency_cap={"max": 1, "per": "day"})
    run = run_started(campaign)
    statuses = dict(run.deliveries.values_list("device_id", "reason"))
    assert statuses == {capped_dev.pk: "frequency_cap", free_dev.pk: ""}
    run.refresh_from_db()
    assert (run.total, run.queued_android, run.skipped_android) == (2, 1, 1)
    # A weekly cap of 2 counts both earlier sends.
    Campaign.objects.filter(pk=campaign.pk).update(frequency_cap={"max": 2, "per": "week"})
    deliveries_mark(run.deliveries.filter(status="queued"), status="sent", sent_at=timezone.now())
    run_finish(run)
    Campaign.objects.filter(pk=campaign.pk).update(qualification="every_time")
    run2 = run_started(campaign)
    assert run2.deliveries.get(device=capped_dev).reason == "frequency_cap"


def test_local_time_schedule_sets_not_before_per_time_zone(app, push, addon_on, dispatched):
    tokyo = device(app, time_zone="Asia/Tokyo")
    paris = device(app, time_zone="Europe/Paris")
    unknown = device(app, time_zone="")
    bogus = device(app, time_zone="Mars/Olympus")
    campaign = running(
        app,
        push,
        schedule_kind="local_time",
        schedule_spec={"date": "2026-07-01", "time": "09:00"},
    )
    with time_machine.travel(dt.datetime(2026, 6, 30, 19, tzinfo=dt.UTC), tick=False):
        run = run_started(campaign)
    times = dict(run.deliveries.values_list("device_id", "not_before"))
    assert times[tokyo.pk] == dt.datetime(2026, 7, 1, 0, tzinfo=dt.UTC)
    assert times[paris.pk] == dt.datetime(2026, 7, 1, 7, tzinfo=dt.UTC)  # CEST = UTC+2
    assert times[unknown.pk] == times[bogus.pk] == dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)


def test_quiet_hours_move_not_before_to_the_end_of_quiet_hours(app, push, addon_on, dispatched):
    night = device(app, time_zone="America/New_York")  # 23:30 local
    day = device(app, time_zone="Europe/Berlin")  # 05:30 local, quiet ends 07:00
    noon = device(app, time_zone="Asia/Kolkata")  # 10:00 local: not quiet
    campaign = running(app, push, quiet_hours={"start": "22:00", "end": "07:00"})
    with time_machine.travel(dt.datetime(2026, 1, 15, 4, 30, tzinfo=dt.UTC), tick=False):
        run = run_started(campaign)
    times = dict(run.deliveries.values_list("device_id", "not_before"))
    assert times[night.pk] == dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)  # 07:00 EST
    assert times[day.pk] == dt.datetime(2026, 1, 15, 6, tzinfo=dt.UTC)  # 07:00 CET
    assert times[noon.pk] is None


def test_run_not_started_twice_while_one_is_open(app, push, addon_on, dispatched):
    device(app)
    campaign = running(app, push)
    assert run_started(campaign) is not None
    with pytest.raises(LifecycleError, match="a running campaign cannot be started"):
        services.campaign_start(actor=None, campaign=campaign)
    with pytest.raises(LifecycleError, match="a running campaign cannot be sent again"):
        services.campaign_send_again(actor=None, campaign=campaign)
    # A run still open when the campaign is otherwise finished: no overlapping second run.
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    with pytest.raises(LifecycleError, match="previous run is still sending"):
        services.campaign_send_again(actor=None, campaign=campaign)
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_no_run_while_addon_is_off(app, push, dispatched):
    device(app)
    campaign = running(app, push)
    with pytest.raises(CampaignError) as refused:
        services.campaign_start(actor=None, campaign=campaign)
    assert refused.value.field == "addon"
    assert not CampaignRun.objects.exists()
    assert not Delivery.objects.exists()
    assert dispatched.tasks == []
