from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import resolve
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.services import campaign_run_start
from devices.models import Device
from tests.campaign_fixtures import device, make_campaign
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def running(app, push, **fields) -> Campaign:
    return make_campaign(app=app, notification=push, status=Campaign.Status.RUNNING, **fields)


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
    run = campaign_run_start(campaign_id=campaign.pk)
    rows = Delivery.objects.filter(run=run)
    assert set(rows.values_list("device_id", flat=True)) == eligible
    assert rows.filter(status="queued").count() == 3
    run.refresh_from_db()
    assert (run.status, run.total, run.queued_android, run.queued_ios) == ("sending", 3, 2, 1)
    assert run.content == push.approved_content
    assert dispatched.calls == [(run.pk, "bulk")]


def test_resolution_statement_count_does_not_grow_with_the_audience(app, push, addon_on):
    def statements(n: int) -> int:
        for _ in range(n):
            device(app)
        campaign = running(app, push, frequency_cap={"max": 2, "per": "day"})
        run = CampaignRun.objects.create(
            kind="batch", campaign=campaign, notification=push, app=app, content={}
        )
        with CaptureQueriesContext(connection) as ctx:
            resolve.run_resolve(run=run, campaign=campaign, now=timezone.now(), local=None)
        assert run.total == Device.objects.filter(app=app).count()
        return len(ctx.captured_queries)

    assert statements(2) == statements(40)


def test_insert_is_chunked_by_device_id(app, push, addon_on, monkeypatch):
    monkeypatch.setattr(resolve, "CHUNK", 3)
    for _ in range(7):
        device(app)
    campaign = running(app, push)
    run = CampaignRun.objects.create(
        kind="batch", campaign=campaign, notification=push, app=app, content={}
    )
    with CaptureQueriesContext(connection) as ctx:
        inserted = resolve.deliveries_insert(
            run=run,
            audience=Device.objects.filter(app=app),
            now=timezone.now(),
        )
    assert inserted == 7
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    # ON CONFLICT DO NOTHING: re-running a slice never duplicates a device in a run.
    again = resolve.deliveries_insert(
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
    first = campaign_run_start(campaign_id=campaign.pk)
    assert set(first.deliveries.values_list("device_id", flat=True)) == {a1.pk, a2.pk, b.pk}
    first.deliveries.filter(device=b).update(status="sent", sent_at=timezone.now())
    first.deliveries.filter(lead_id=lead.pk).update(status="failed")
    CampaignRun.objects.filter(pk=first.pk).update(status="completed")
    second = campaign_run_start(campaign_id=campaign.pk)
    # b's lead was sent; lead's earlier deliveries failed, so lead still qualifies.
    assert set(second.deliveries.values_list("device_id", flat=True)) == {a1.pk, a2.pk}


def test_qualification_once_per_period_and_every_time(app, push, addon_on, dispatched):
    dev = device(app)
    campaign = running(app, push, qualification="once_per", qualification_period_hours=24)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        first = campaign_run_start(campaign_id=campaign.pk)
        first.deliveries.update(status="sent", sent_at=timezone.now())
        CampaignRun.objects.filter(pk=first.pk).update(status="completed")
    with time_machine.travel(dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC), tick=False):
        within = campaign_run_start(campaign_id=campaign.pk)
        assert within.total == 0
        CampaignRun.objects.filter(pk=within.pk).update(status="completed")
    with time_machine.travel(dt.datetime(2026, 3, 2, 13, tzinfo=dt.UTC), tick=False):
        after = campaign_run_start(campaign_id=campaign.pk)
        assert list(after.deliveries.values_list("device_id", flat=True)) == [dev.pk]
        CampaignRun.objects.filter(pk=after.pk).update(status="completed")
    Campaign.objects.filter(pk=campaign.pk).update(qualification="every_time")
    again = campaign_run_start(campaign_id=campaign.pk)
    assert again.total == 1


def test_frequency_cap_skips_leads_over_the_cap_across_campaigns(app, push, addon_on, dispatched):
    capped_lead, free_lead = LeadFactory(), LeadFactory()
    capped_dev, free_dev = device(app, lead=capped_lead), device(app, lead=free_lead)
    other = running(app, push, name="Other campaign")
    now = timezone.now()
    for hours in (1, 30):  # one inside the day, one outside
        run = CampaignRun.objects.create(
            kind="batch", campaign=other, notification=push, app=app, content={}
        )
        Delivery.objects.create(
            run=run,
            device=capped_dev,
            lead_id=capped_lead.pk,
            platform="android",
            status="sent",
            sent_at=now - dt.timedelta(hours=hours),
        )
    campaign = running(app, push, frequency_cap={"max": 1, "per": "day"})
    run = campaign_run_start(campaign_id=campaign.pk)
    statuses = dict(run.deliveries.values_list("device_id", "reason"))
    assert statuses == {capped_dev.pk: "frequency_cap", free_dev.pk: ""}
    run.refresh_from_db()
    assert (run.total, run.queued_android, run.skipped_android) == (2, 1, 1)
    # A weekly cap of 2 counts both earlier sends.
    Campaign.objects.filter(pk=campaign.pk).update(frequency_cap={"max": 2, "per": "week"})
    CampaignRun.objects.filter(pk=run.pk).update(status="completed")
    Campaign.objects.filter(pk=campaign.pk).update(qualification="every_time")
    run2 = campaign_run_start(campaign_id=campaign.pk)
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
        run = campaign_run_start(campaign_id=campaign.pk)
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
        run = campaign_run_start(campaign_id=campaign.pk)
    times = dict(run.deliveries.values_list("device_id", "not_before"))
    assert times[night.pk] == dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)  # 07:00 EST
    assert times[day.pk] == dt.datetime(2026, 1, 15, 6, tzinfo=dt.UTC)  # 07:00 CET
    assert times[noon.pk] is None


def test_run_not_started_twice_while_one_is_open(app, push, addon_on, dispatched):
    device(app)
    campaign = running(app, push)
    assert campaign_run_start(campaign_id=campaign.pk) is not None
    assert campaign_run_start(campaign_id=campaign.pk) is None
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_no_run_while_addon_is_off(app, push, dispatched):
    device(app)
    campaign = running(app, push)
    assert campaign_run_start(campaign_id=campaign.pk) is None
    assert not Delivery.objects.exists()
