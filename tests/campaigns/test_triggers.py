from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.qualification import RuleError
from campaigns.rules import validate_trigger
from campaigns.services import campaign_activate
from campaigns.triggers import triggers_evaluate
from devices.models import DeviceActivity
from tests.campaign_fixtures import device, make_campaign
from tests.delivery_fixtures import delivery_recorded
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def active(app, push, **fields) -> Campaign:
    fields.setdefault("trigger", {"event": "opened"})
    campaign = make_campaign(app=app, notification=push, kind="trigger", **fields)
    return campaign_activate(actor=None, campaign=campaign)


def act(dev, kind="opened", **fields) -> int:
    return DeviceActivity.objects.create(
        app=dev.app, device=dev, lead=dev.lead, kind=kind, occurred_at=timezone.now(), **fields
    ).pk


def test_open_fires_once_into_the_activation_run_and_dispatches_on_send(
    app, push, addon_on, dispatched
):
    dev = device(app)
    campaign = active(app, push)
    run = CampaignRun.objects.get(campaign=campaign)
    assert triggers_evaluate(activity_ids=[act(dev)]) == 1
    delivery = Delivery.objects.get()
    assert (delivery.run_id, delivery.device_id, delivery.status) == (run.pk, dev.pk, "queued")
    run.refresh_from_db()
    assert (run.total, run.queued_android) == (1, 1)
    assert dispatched.calls == [(run.pk, "send")]


def test_other_kinds_apps_and_inactive_campaigns_do_not_fire(app, push, addon_on, dispatched):
    dev = device(app)
    active(app, push, trigger={"event": "session"})
    make_campaign(app=app, notification=push, kind="trigger", trigger={"event": "opened"})
    assert triggers_evaluate(activity_ids=[act(dev)]) == 0
    assert not Delivery.objects.exists()


def test_activity_constraints_and_audience_filters_apply(app, push, addon_on, dispatched):
    fr, en = device(app, locale="fr-FR"), device(app, locale="en-US")
    active(
        app,
        push,
        trigger={"event": "custom_action", "action_name": "Checkout"},
        audience=[{"field": "locale", "op": "starts_with", "value": "fr"}],
        qualification="every_time",
    )
    ids = [
        act(fr, "custom_action", action_name="checkout"),
        act(fr, "custom_action", action_name="Browse"),
        act(en, "custom_action", action_name="Checkout"),
    ]
    assert triggers_evaluate(activity_ids=ids) == 1
    assert list(Delivery.objects.values_list("device_id", flat=True)) == [fr.pk]


def test_ineligible_devices_never_fire(app, push, addon_on, dispatched):
    off = device(app, push_enabled=False)
    anonymous = device(app, lead=None)
    active(app, push)
    assert triggers_evaluate(activity_ids=[act(off), act(anonymous)]) == 0


def test_every_time_fires_once_per_activity_without_breaking_one_row_per_run(
    app, push, addon_on, dispatched
):
    dev = device(app)
    campaign = active(app, push, qualification="every_time")
    assert triggers_evaluate(activity_ids=[act(dev), act(dev)]) == 2
    assert triggers_evaluate(activity_ids=[act(dev)]) == 1
    rows = Delivery.objects.filter(run__campaign=campaign)
    assert rows.count() == 3
    assert rows.values("run_id").distinct().count() == 3
    assert sum(CampaignRun.objects.filter(campaign=campaign).values_list("total", flat=True)) == 3


def test_once_qualification_is_per_lead(app, push, addon_on, dispatched):
    lead = LeadFactory()
    phone, tablet = device(app, lead=lead), device(app, lead=lead)
    active(app, push, qualification="once")
    assert triggers_evaluate(activity_ids=[act(phone), act(tablet)]) == 1
    assert triggers_evaluate(activity_ids=[act(tablet)]) == 0
    assert Delivery.objects.count() == 1


def test_once_per_period_fires_again_after_the_window(app, push, addon_on, dispatched):
    dev = device(app)
    active(app, push, qualification="once_per", qualification_period_hours=2)
    start = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert triggers_evaluate(activity_ids=[act(dev)]) == 1
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert triggers_evaluate(activity_ids=[act(dev)]) == 0
    with time_machine.travel(start + dt.timedelta(hours=3), tick=False):
        assert triggers_evaluate(activity_ids=[act(dev)]) == 1
    assert Delivery.objects.count() == 2


def test_tap_trigger_for_a_given_push(app, push, addon_on, dispatched):
    dev = device(app)
    tapped = delivery_recorded(device=dev, notification=push)
    campaign = active(
        app, push, trigger={"event": "push_tapped", "notification_id": push.pk + 1000}
    )
    assert triggers_evaluate(activity_ids=[act(dev, "push_tapped", delivery_id=tapped.pk)]) == 0
    Campaign.objects.filter(pk=campaign.pk).update(
        trigger={"event": "push_tapped", "notification_id": push.pk}
    )
    assert triggers_evaluate(activity_ids=[act(dev, "push_tapped", delivery_id=tapped.pk)]) == 1


def test_caps_and_quiet_hours_apply_to_triggers(app, push, addon_on, dispatched):
    capped_lead = LeadFactory()
    capped = device(app, lead=capped_lead)
    sleeper = device(app, time_zone="Europe/London")
    other = make_campaign(app=app, notification=push)
    run = delivery_recorded(
        device=capped,
        notification=push,
        campaign_id=other.pk,
        lead_id=capped_lead.pk,
        sent_at=timezone.now(),
    ).run
    with time_machine.travel(dt.datetime(2026, 1, 10, 23, 0, tzinfo=dt.UTC), tick=False):
        active(
            app,
            push,
            frequency_cap={"max": 1, "per": "day"},
            quiet_hours={"start": "22:00", "end": "08:00"},
        )
        assert triggers_evaluate(activity_ids=[act(capped), act(sleeper)]) == 2
    rows = {d.device_id: d for d in Delivery.objects.exclude(run=run)}
    assert (rows[capped.pk].status, rows[capped.pk].reason) == ("skipped", "frequency_cap")
    assert rows[sleeper.pk].not_before == dt.datetime(2026, 1, 11, 8, tzinfo=dt.UTC)


def test_addon_off_fires_nothing(app, push, dispatched):
    dev = device(app)
    active(app, push)
    assert triggers_evaluate(activity_ids=[act(dev)]) == 0


def test_evaluation_query_count_is_bounded(
    app, push, addon_on, dispatched, django_assert_max_num_queries
):
    devices = [device(app) for _ in range(10)]
    active(app, push, qualification="every_time")
    ids = [act(d) for d in devices]
    with django_assert_max_num_queries(12):
        assert triggers_evaluate(activity_ids=ids) == 10


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ({}, "trigger.event"),
        ({"event": "shake"}, "trigger.event"),
        ({"event": "custom_action", "action_name": "x" * 20}, "trigger.action_name"),
        ({"event": "push_tapped", "notification_id": "7"}, "trigger.notification_id"),
    ],
)
def test_bad_triggers_name_the_field(trigger, field):
    with pytest.raises(RuleError) as error:
        validate_trigger(trigger)
    assert error.value.field == field
