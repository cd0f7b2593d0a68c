"""The activity reads use the (device, -occurred_at) and (lead, -occurred_at) indexes. The
test tables are tiny, where PostgreSQL rightly prefers a sequential scan; with that switched
off for the statement, a plan that names the index shows the query can use it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import QuerySet

from devices import selectors
from devices.models import DeviceActivity
from devices.selectors.browse import activity_list
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


def plan(activities: QuerySet[DeviceActivity]) -> str:
    if connection.vendor != "postgresql":
        return activities.explain()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        return activities.explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")


@pytest.mark.parametrize(
    "filters",
    [{}, {"kind": "push_tapped"}, {"since": SINCE, "until": UNTIL, "kind": "opened"}],
    ids=["all", "kind", "kind-and-time"],
)
def test_device_activities_use_the_device_index(filters):
    device = DeviceFactory()
    page = selectors.activities_list(device_id=device.pk, **filters).select_related("device")
    assert "activity_device_idx" in plan(page[:50])


@pytest.mark.parametrize(
    "filters",
    [{}, {"kind": "session"}, {"since": SINCE, "until": UNTIL}],
    ids=["all", "kind", "time"],
)
def test_lead_activities_use_the_lead_index(filters):
    device = DeviceFactory()
    page = selectors.activities_list(lead_id=device.lead_id, **filters).select_related("device")
    assert "activity_lead_idx" in plan(page[:50])


def test_time_range_is_since_included_until_excluded():
    device = DeviceFactory()
    rows = [
        DeviceActivity.objects.create(
            app_id=device.app_id, device=device, kind="opened", occurred_at=at
        )
        for at in (SINCE, UNTIL)
    ]
    found = selectors.activities_list(device_id=device.pk, since=SINCE, until=UNTIL)
    assert list(found) == rows[:1]


def test_the_browser_reads_whole_days_through_the_same_selector():
    device = DeviceFactory()
    last_second = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    rows = [
        DeviceActivity.objects.create(
            app_id=device.app_id, device=device, kind="opened", occurred_at=at
        )
        for at in (SINCE, last_second, UNTIL)
    ]
    found = activity_list(device_id=device.pk, since=SINCE.date(), until=last_second.date())
    assert list(found) == [rows[1], rows[0]]
