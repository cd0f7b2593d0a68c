from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.qualification import (
    RuleError,
    planned_send_at,
    quiet_hours_release,
    validate_frequency_cap,
    validate_quiet_hours,
)

UTC = dt.UTC
QUIET = {"start": "22:00", "end": "08:00"}
MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        (dt.datetime(2026, 3, 3, 21, 59, tzinfo=MADRID), None),  # just before
        (dt.datetime(2026, 3, 3, 22, 0, tzinfo=MADRID), dt.datetime(2026, 3, 4, 8, tzinfo=MADRID)),
        (dt.datetime(2026, 3, 3, 23, 30, tzinfo=MADRID), dt.datetime(2026, 3, 4, 8, tzinfo=MADRID)),
        (dt.datetime(2026, 3, 4, 7, 59, tzinfo=MADRID), dt.datetime(2026, 3, 4, 8, tzinfo=MADRID)),
        (dt.datetime(2026, 3, 4, 8, 0, tzinfo=MADRID), None),  # quiet hours end exactly now
    ],
)
def test_quiet_hours_across_midnight(local, expected_local):
    released = quiet_hours_release(local, QUIET, MADRID)
    expected = expected_local.astimezone(UTC) if expected_local else None
    assert released == expected


def test_quiet_hours_inside_one_day():
    zone = ZoneInfo("UTC")
    quiet = {"start": "12:00", "end": "14:00"}
    assert quiet_hours_release(dt.datetime(2026, 1, 1, 13, tzinfo=UTC), quiet, zone) == (
        dt.datetime(2026, 1, 1, 14, tzinfo=UTC)
    )
    assert quiet_hours_release(dt.datetime(2026, 1, 1, 23, tzinfo=UTC), quiet, zone) is None


def test_local_time_respects_daylight_saving():
    now = dt.datetime(2026, 3, 1, tzinfo=UTC)
    # New York switches to EDT (UTC-4) on 8 March 2026.
    before = planned_send_at(
        zone_name="America/New_York",
        now=now,
        quiet={},
        local_day=dt.date(2026, 3, 7),
        local_at=dt.time(9),
    )
    after = planned_send_at(
        zone_name="America/New_York",
        now=now,
        quiet={},
        local_day=dt.date(2026, 3, 9),
        local_at=dt.time(9),
    )
    assert before == dt.datetime(2026, 3, 7, 14, tzinfo=UTC)
    assert after == dt.datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_local_time_already_past_sends_now_and_unknown_zone_is_utc():
    now = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
    day, at = dt.date(2026, 6, 1), dt.time(9)
    assert planned_send_at(zone_name="Europe/Paris", now=now, quiet={}, local_day=day,
                           local_at=at) is None  # fmt: skip
    assert planned_send_at(zone_name="", now=now, quiet={}, local_day=day,
                           local_at=dt.time(13)) == dt.datetime(2026, 6, 1, 13, tzinfo=UTC)  # fmt: skip


def test_local_time_landing_in_quiet_hours_waits_for_their_end():
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    planned = planned_send_at(
        zone_name="UTC",
        now=now,
        quiet={"start": "06:00", "end": "10:00"},
        local_day=dt.date(2026, 6, 2),
        local_at=dt.time(7),
    )
    assert planned == dt.datetime(2026, 6, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"start": "22:00"}, "quiet_hours.end"),
        ({"start": "7pm", "end": "08:00"}, "quiet_hours.start"),
        ({"start": "08:00", "end": "08:00"}, "quiet_hours.end"),
        ("22-08", "quiet_hours"),
    ],
)
def test_bad_quiet_hours_name_the_field(value, field):
    with pytest.raises(RuleError) as error:
        validate_quiet_hours(value)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"max": 0, "per": "day"}, "frequency_cap.max"),
        ({"max": True, "per": "day"}, "frequency_cap.max"),
        ({"max": 3, "per": "month"}, "frequency_cap.per"),
        ([3], "frequency_cap"),
    ],
)
def test_bad_frequency_caps_name_the_field(value, field):
    with pytest.raises(RuleError) as error:
        validate_frequency_cap(value)
    assert error.value.field == field
