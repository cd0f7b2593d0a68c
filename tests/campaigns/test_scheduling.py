from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from campaigns.models import Campaign, CampaignRun
from campaigns.qualification import RuleError
from campaigns.scheduling import next_run_after, validate_schedule
from campaigns.services import campaign_create, campaign_start, campaigns_due_start
from campaigns.tasks import schedules_tick
from pushmarketing.core.models import AuditEntry
from tests.campaign_fixtures import device, make_campaign

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 4, 6, 10, 0, tzinfo=dt.UTC)  # a Monday


def test_recurring_daily_and_weekly_next_runs(app, push):
    daily = make_campaign(
        app=app,
        notification=push,
        schedule_kind="recurring",
        schedule_spec={"frequency": "daily", "time": "09:30"},
    )
    assert next_run_after(daily, NOW) == dt.datetime(2026, 4, 7, 9, 30, tzinfo=dt.UTC)
    weekly = make_campaign(
        app=app,
        notification=push,
        schedule_kind="recurring",
        schedule_spec={"frequency": "weekly", "time": "11:00", "weekday": "monday"},
    )
    assert next_run_after(weekly, NOW) == dt.datetime(2026, 4, 6, 11, tzinfo=dt.UTC)
    assert next_run_after(weekly, NOW + dt.timedelta(hours=2)) == dt.datetime(
        2026, 4, 13, 11, tzinfo=dt.UTC
    )


def test_local_time_run_starts_when_the_earliest_zone_reaches_the_time(app, push):
    campaign = make_campaign(
        app=app,
        notification=push,
        schedule_kind="local_time",
        schedule_spec={"date": "2026-04-08", "time": "09:00"},
    )
    assert next_run_after(campaign, NOW) == dt.datetime(2026, 4, 7, 19, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("kind", "at", "spec", "field"),
    [
        ("at", None, {}, "schedule_at"),
        ("at", NOW - dt.timedelta(minutes=1), {}, "schedule_at"),
        ("recurring", None, {"frequency": "hourly", "time": "10:00"}, "schedule_spec.frequency"),
        ("recurring", None, {"frequency": "daily", "time": "25:00"}, "schedule_spec.time"),
        ("recurring", None, {"frequency": "weekly", "time": "10:00"}, "schedule_spec.weekday"),
        ("local_time", None, {"date": "2026-04-01", "time": "09:00"}, "schedule_spec.date"),
        ("local_time", None, {"date": "soon", "time": "09:00"}, "schedule_spec.date"),
        ("sometime", None, {}, "schedule_kind"),
    ],
)
def test_bad_schedules_name_the_field(kind, at, spec, field):
    with pytest.raises(RuleError) as error:
        validate_schedule(kind, at, spec, now=NOW)
    assert error.value.field == field


def test_scheduled_start_then_tick_starts_it_once(app, push, addon_on, marketer_user, enqueued):
    device(app)
    campaign = make_campaign(
        app=app, notification=push, schedule_kind="at", schedule_at=NOW + dt.timedelta(hours=1)
    )
    with time_machine.travel(NOW, tick=False):
        campaign_start(actor=marketer_user, campaign=campaign)
        campaign.refresh_from_db()
        assert (campaign.status, campaign.next_run_at) == ("scheduled", NOW + dt.timedelta(hours=1))
        assert schedules_tick() == []
        assert not campaign.runs.exists()
    # Scheduling is audited as such, not as a start (the campaign only runs at its time).
    assert AuditEntry.objects.filter(
        action="campaign.scheduled", target_id=str(campaign.pk)
    ).exists()
    with time_machine.travel(NOW + dt.timedelta(hours=1, seconds=5), tick=False):
        assert schedules_tick() == [campaign.pk]
        assert schedules_tick() == []
    # The tick opened the run (resolving) and asked a worker to resolve it, once.
    run = campaign.runs.get()
    assert run.status == CampaignRun.Status.RESOLVING
    assert [(t[0], t[1], t[2]) for t in enqueued.tasks] == [
        ("campaigns.run_resolve", (run.pk,), "default")
    ]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.next_run_at) == ("running", None)


def test_two_schedulers_claim_a_due_campaign_once(app, push, enqueued):
    campaign = make_campaign(
        app=app,
        notification=push,
        status=Campaign.Status.SCHEDULED,
        schedule_kind="recurring",
        schedule_spec={"frequency": "daily", "time": "09:00"},
        next_run_at=NOW - dt.timedelta(minutes=1),
    )
    # Scheduler B read the row before scheduler A's claim landed: B's UPDATE must match 0 rows.
    stale = Campaign.objects.get(pk=campaign.pk)
    assert campaigns_due_start(now=NOW) == [campaign.pk]
    claimed = Campaign.objects.filter(
        pk=stale.pk, status=Campaign.Status.SCHEDULED, next_run_at=stale.next_run_at
    ).update(next_run_at=None)
    assert claimed == 0
    campaign.refresh_from_db()
    # Recurring: stays scheduled, next occurrence tomorrow.
    assert campaign.status == "scheduled"
    assert campaign.next_run_at == dt.datetime(2026, 4, 7, 9, tzinfo=dt.UTC)
    assert campaigns_due_start(now=NOW) == []
    assert campaign.runs.count() == 1
    assert len(enqueued.named("campaigns.run_resolve")) == 1


def test_paused_scheduled_campaign_is_not_started(app, push, enqueued):
    make_campaign(
        app=app,
        notification=push,
        status=Campaign.Status.PAUSED,
        schedule_kind="at",
        next_run_at=NOW - dt.timedelta(minutes=1),
    )
    assert campaigns_due_start(now=NOW) == []
    assert not CampaignRun.objects.exists()


def test_the_current_minute_counts_as_now():
    now = dt.datetime(2026, 11, 30, 16, 5, 40, tzinfo=dt.UTC)
    # The editor sends whole minutes: 16:05 typed at 16:05:40 is "now", 16:04 is past.
    assert validate_schedule("at", now.replace(second=0), {}, now=now) == {}
    with pytest.raises(RuleError, match="in the past"):
        validate_schedule("at", now.replace(minute=4, second=0), {}, now=now)


def test_a_campaign_scheduled_for_the_current_minute_runs_at_the_next_tick(
    app, push, addon_on, marketer_user, enqueued
):
    now = dt.datetime(2026, 11, 30, 16, 5, 40, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        campaign = campaign_create(
            actor=marketer_user,
            app=app,
            kind="batch",
            data={
                "name": "Right now",
                "notification": push,
                "schedule_kind": "at",
                "schedule_at": now.replace(second=0),
            },
        )
        campaign_start(actor=marketer_user, campaign=campaign)
        campaign.refresh_from_db()
        assert (campaign.status, campaign.next_run_at) == ("scheduled", now)
        assert schedules_tick() == [campaign.pk]


def test_the_editor_reads_the_time_in_the_browsers_zone(app, push, addon_on, marketer_client):
    now = dt.datetime(2026, 11, 30, 16, 5, 40, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        response = marketer_client.post(
            reverse("campaign-create") + "?kind=batch",
            {
                "name": "Lunch in Paris",
                "app": app.pk,
                "notification": push.pk,
                "audience": "[]",
                "schedule_kind": "at",
                # 17:05 in Paris (UTC+1 in winter) is the current UTC minute: accepted as now.
                "schedule_at": "2026-11-30T17:05",
                "schedule_tz": "Europe/Paris",
                "qualification": "once",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Lunch in Paris")
    assert campaign.schedule_at == dt.datetime(2026, 11, 30, 16, 5, tzinfo=dt.UTC)


def test_an_unknown_time_zone_is_refused(app, push, addon_on, marketer_client):
    response = marketer_client.post(
        reverse("campaign-create") + "?kind=batch",
        {
            "name": "Nowhere",
            "app": app.pk,
            "notification": push.pk,
            "audience": "[]",
            "schedule_kind": "at",
            "schedule_at": "2030-01-01T10:00",
            "schedule_tz": "Mars/Olympus",
            "qualification": "once",
        },
    )
    assert response.status_code == 400
    assert not Campaign.objects.filter(name="Nowhere").exists()
