from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.audience import AudienceError, audience_devices, audience_validate
from campaigns.selectors import audience_count, sendable_devices
from devices.models import Device, DeviceActivity
from tests.campaign_fixtures import approve, configure_app, device
from tests.delivery_fixtures import delivery_recorded
from tests.factories import LeadFactory, MobileAppFactory, PushNotificationFactory

pytestmark = pytest.mark.django_db


def ids(rows, app) -> set[int]:
    return set(audience_devices(app_id=app.pk, rows=rows).values_list("id", flat=True))


def test_column_filters_and_their_not_forms(app):
    ios = device(app, "ios", locale="fr-FR", app_version="2.1.0", device_model="iPhone15,2")
    android = device(app, "android", locale="en-US", app_version="1.9", device_model="Pixel 8")
    assert ids([{"field": "platform", "value": "ios"}], app) == {ios.pk}
    assert ids([{"field": "platform", "value": "ios", "negate": True}], app) == {android.pk}
    assert ids([{"field": "locale", "op": "starts_with", "value": "fr"}], app) == {ios.pk}
    assert ids([{"field": "app_version", "op": "equals", "value": "1.9"}], app) == {android.pk}
    assert ids([{"field": "device_model", "op": "contains", "value": "pixel"}], app) == {android.pk}
    assert ids([{"field": "device_model", "op": "is_empty", "negate": True}], app) == {
        ios.pk,
        android.pk,
    }


def test_audience_never_leaves_the_campaign_app(app):
    mine = device(app)
    device(MobileAppFactory())
    assert ids([], app) == {mine.pk}


def test_activity_filters_use_time_windows_and_constraints(app):
    recent, old, never = device(app), device(app), device(app)
    now = timezone.now()
    for dev, when in ((recent, now - dt.timedelta(days=1)), (old, now - dt.timedelta(days=40))):
        DeviceActivity.objects.create(
            app=app,
            device=dev,
            kind="custom_action",
            action_name="Checkout",
            action_type="purchase",
            occurred_at=when,
        )
    row = {"field": "app_activity", "action_name": "checkout", "within_days": 7}
    assert ids([row], app) == {recent.pk}
    assert ids([{**row, "negate": True}], app) == {old.pk, never.pk}
    assert ids([{"field": "app_activity", "action_type": "purchase"}], app) == {recent.pk, old.pk}
    assert ids([{"field": "session"}], app) == set()


def test_opened_and_installed_windows(app):
    fresh = device(app, first_opened_at=timezone.now(), last_opened_at=timezone.now())
    stale = device(
        app,
        first_opened_at=timezone.now() - dt.timedelta(days=100),
        last_opened_at=timezone.now() - dt.timedelta(days=50),
    )
    never = device(app, first_opened_at=None, last_opened_at=None)
    assert ids([{"field": "opened", "within_days": 30}], app) == {fresh.pk}
    assert ids([{"field": "installed"}], app) == {fresh.pk, stale.pk}
    assert ids([{"field": "installed", "negate": True}], app) == {never.pk}


def test_sent_and_tapped_push_filters(app, push):
    other_push = approve(PushNotificationFactory(app=app))
    sent, tapped, nothing = device(app), device(app), device(app)
    now = timezone.now()
    first = delivery_recorded(device=sent, notification=push, sent_at=now)
    delivery_recorded(device=tapped, run=first.run, sent_at=now, tapped_at=now)
    assert ids([{"field": "was_sent_push"}], app) == {sent.pk, tapped.pk}
    assert ids([{"field": "was_sent_push", "notification_id": other_push.pk}], app) == set()
    assert ids([{"field": "tapped_push", "notification_id": push.pk}], app) == {tapped.pk}
    assert ids([{"field": "tapped_push", "negate": True}], app) == {sent.pk, nothing.pk}


def test_lead_field_filters_on_standard_and_custom_fields(app):
    paris = device(app, lead=LeadFactory(city="Paris", custom_fields={"Loyalty Tier": "Gold"}))
    rome = device(app, lead=LeadFactory(city="Rome", custom_fields={}))
    assert ids([{"field": "lead_field", "lead_field": "City", "value": "paris"}], app) == {paris.pk}
    gold = {"field": "lead_field", "lead_field": "Loyalty Tier", "op": "equals", "value": "gold"}
    assert ids([gold], app) == {paris.pk}
    assert ids([{**gold, "negate": True}], app) == {rome.pk}
    empty = {"field": "lead_field", "lead_field": "Loyalty Tier", "op": "is_empty"}
    assert ids([empty], app) == {rome.pk}


def test_all_filters_compile_to_one_query(app, django_assert_num_queries):
    device(app)
    rows = [
        {"field": "platform", "value": ["android", "ios"]},
        {"field": "opened", "within_days": 30},
        {"field": "app_activity", "action_name": "x", "negate": True},
        {"field": "was_sent_push", "negate": True},
        {"field": "lead_field", "lead_field": "City", "op": "is_empty"},
    ]
    with django_assert_num_queries(1):
        list(sendable_devices(app_id=app.pk, rows=rows, platforms=["android"]))


@pytest.mark.parametrize(
    ("rows", "field", "rule"),
    [
        ("x", "audience", "must be a list"),
        ([{"field": "shoe_size"}], "audience[0].field", "must be one of"),
        ([{"field": "platform", "value": "windows"}], "audience[0].value", "must be one of"),
        ([{"field": "locale", "op": "regex", "value": "x"}], "audience[0].op", "must be one of"),
        ([{"field": "locale", "op": "equals"}], "audience[0].value", "is required"),
        ([{"field": "opened", "within_days": 0}], "audience[0].within_days", "whole number"),
        ([{"field": "push_enabled", "value": "yes"}], "audience[0].value", "true or false"),
        ([{"field": "session", "negate": "no"}], "audience[0].negate", "true or false"),
        ([{"field": "lead_field", "value": "x"}], "audience[0].lead_field", "is required"),
    ],
)
def test_bad_rows_name_the_field_and_rule(rows, field, rule):
    with pytest.raises(AudienceError) as error:
        audience_validate(rows)
    assert error.value.field == field
    assert rule in error.value.rule


def test_audience_count_splits_excluded_devices_by_reason(db):
    app = configure_app(MobileAppFactory(), platforms=("android",))
    push = approve(PushNotificationFactory(app=app), ios_enabled=True, android_enabled=True)
    shared_lead = LeadFactory()
    device(app, lead=shared_lead)
    device(app, lead=shared_lead)
    device(app, first_opened_at=None)
    device(app, push_enabled=False)
    device(app, status=Device.Status.TOKEN_INVALID)
    device(app, lead=None)
    device(app, "ios")  # app has no iOS credentials
    counts = audience_count(app=app, rows=[], notification=push)
    assert counts["matched_devices"] == 7
    assert counts["eligible_devices"] == 2
    assert counts["eligible_leads"] == 1
    excluded = {code: value["count"] for code, value in counts["excluded"].items()}
    assert excluded == {
        "platform_not_enabled": 0,
        "never_opened": 1,
        "no_token": 0,
        "push_disabled": 1,
        "token_invalid": 1,
        "unregistered": 0,
        "no_lead": 1,
        "app_not_configured": 1,
    }


def test_audience_count_excludes_platforms_the_push_does_not_use(app):
    push = approve(PushNotificationFactory(app=app), ios_enabled=False)
    device(app, "ios")
    device(app, "android")
    counts = audience_count(app=app, rows=[], notification=push)
    assert counts["eligible_devices"] == 1
    assert counts["excluded"]["platform_not_enabled"]["count"] == 1


def test_audience_count_is_two_queries_whatever_the_filters(app, push, django_assert_num_queries):
    for _ in range(5):
        device(app)
    rows = [
        {"field": "opened", "within_days": 7},
        {"field": "tapped_push", "negate": True},
        {"field": "lead_field", "lead_field": "Tier", "op": "is_empty"},
    ]
    with django_assert_num_queries(2):
        counts = audience_count(app=app, rows=rows, notification=push)
    assert counts["eligible_devices"] == 5
