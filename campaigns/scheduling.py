"""Schedules: now, at a moment, recurring (daily/weekly at a UTC time), or at a local time in
each device's own zone. The database is the schedule (`Campaign.next_run_at`), so restarts
lose nothing; campaigns.services.campaigns_due_start opens each due campaign's run under its
row lock, so two beat schedulers never start one campaign twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from campaigns.models import Campaign
from campaigns.qualification import RuleError, parse_hhmm

# The earliest zone on Earth is UTC+14: a local-time run starts when it is `at` there, and
# devices in later zones wait on their own `not_before`.
EARLIEST_UTC_OFFSET = dt.timedelta(hours=14)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parse_date(value: Any, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RuleError(field, "must be a date as YYYY-MM-DD") from None


def validate_schedule(
    kind: str, at: dt.datetime | None, spec: Any, *, now: dt.datetime
) -> dict[str, Any]:
    """Normalized schedule_spec for `kind`; raises RuleError naming the bad field."""
    spec = spec or {}
    if not isinstance(spec, dict):
        raise RuleError("schedule_spec", "must be an object")
    if kind == Campaign.ScheduleKind.NOW:
        return {}
    if kind == Campaign.ScheduleKind.AT:
        if at is None:
            raise RuleError("schedule_at", "is required for a scheduled run")
        # The editor picks whole minutes: the minute we are in is "now" (the run starts at
        # the scheduler's next tick), only an earlier minute is in the past.
        if at < now.replace(second=0, microsecond=0):
            raise RuleError("schedule_at", "is in the past: pick the current minute or later")
        return {}
    if kind == Campaign.ScheduleKind.RECURRING:
        frequency = spec.get("frequency")
        if frequency not in ("daily", "weekly"):
            raise RuleError("schedule_spec.frequency", "must be daily or weekly")
        time = parse_hhmm(spec.get("time"), "schedule_spec.time")
        out: dict[str, Any] = {"frequency": frequency, "time": time.strftime("%H:%M")}
        if frequency == "weekly":
            if spec.get("weekday") not in WEEKDAYS:
                raise RuleError("schedule_spec.weekday", f"must be one of: {', '.join(WEEKDAYS)}")
            out["weekday"] = spec["weekday"]
        return out
    if kind == Campaign.ScheduleKind.LOCAL_TIME:
        day = _parse_date(spec.get("date"), "schedule_spec.date")
        time = parse_hhmm(spec.get("time"), "schedule_spec.time")
        # The last zone (UTC-12) must still be ahead of us, or nobody gets it at that time.
        if dt.datetime.combine(day, time, tzinfo=dt.UTC) + dt.timedelta(hours=12) <= now:
            raise RuleError("schedule_spec.date", "must not be in the past in every time zone")
        return {"date": day.isoformat(), "time": time.strftime("%H:%M")}
    raise RuleError("schedule_kind", "must be now, at, recurring or local_time")


def next_run_after(campaign: Campaign, now: dt.datetime) -> dt.datetime | None:
    """The next start strictly after `now` (None when the schedule has no further run)."""
    kind, spec = campaign.schedule_kind, campaign.schedule_spec or {}
    if kind == Campaign.ScheduleKind.AT:
        return campaign.schedule_at if campaign.schedule_at and campaign.schedule_at > now else None
    if kind == Campaign.ScheduleKind.LOCAL_TIME:
        day, time = dt.date.fromisoformat(spec["date"]), parse_hhmm(spec["time"], "time")
        start = dt.datetime.combine(day, time, tzinfo=dt.UTC) - EARLIEST_UTC_OFFSET
        return start if start > now else None
    if kind == Campaign.ScheduleKind.RECURRING:
        time = parse_hhmm(spec["time"], "time")
        candidate = dt.datetime.combine(now.date(), time, tzinfo=dt.UTC)
        if spec["frequency"] == "weekly":
            candidate += dt.timedelta(days=(WEEKDAYS.index(spec["weekday"]) - now.weekday()) % 7)
            step = dt.timedelta(days=7)
        else:
            step = dt.timedelta(days=1)
        while candidate <= now:
            candidate += step
        return candidate
    return None


def first_run_at(campaign: Campaign, now: dt.datetime) -> dt.datetime:
    """When a started campaign first runs: its next scheduled time, or now for a local-time
    schedule whose earliest zone has already reached the time."""
    return next_run_after(campaign, now) or now
