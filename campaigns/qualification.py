"""Who may be sent again, how often, and when: qualification rules, frequency caps, quiet
hours and per-device local send times.

All three are per *lead* (a person with two phones is one person), while a delivery is per
device. Times are planned per time zone, not per device: every device in a zone shares one
send instant, so a run needs one UPDATE per distinct zone (a few hundred at most) whatever its
size. Devices without a (valid) time zone are planned in UTC, the app default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from campaigns.models import Campaign, Delivery

DEFAULT_ZONE = "UTC"
CAP_WINDOWS = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A delivery that is queued or in flight already "counts" for qualification, so two trigger
# fires a second apart cannot both slip through a "once" rule.
COUNTED_STATUSES = (Delivery.Status.QUEUED, Delivery.Status.SENDING, Delivery.Status.SENT)
T = TypeVar("T")


class RuleError(ValueError):
    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class RuleErrors(RuleError):
    """Several settings broke their rules: the editor shows every one at once, not one per
    submit. `field` and `rule` are the first, for a caller that reports one."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__(errors[0].field, errors[0].rule)
        self.errors = errors


def rule_errors(error: RuleError) -> list[RuleError]:
    return error.errors if isinstance(error, RuleErrors) else [error]


class RuleChecks:
    """Runs independent checks, keeping each one's error; `raise_any` raises them together."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []

    def check(self, validate: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return validate(*args, **kwargs)
        except RuleError as error:
            self.errors.extend(rule_errors(error))
            return None

    def raise_any(self) -> None:
        if self.errors:
            raise RuleErrors(self.errors)


def parse_hhmm(value: Any, field: str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    match = _HHMM.match(value or "") if isinstance(value, str) else None
    if not match:
        raise RuleError(field, "must be a time as HH:MM (24-hour)")
    return dt.time(int(match.group(1)), int(match.group(2)))


@lru_cache(maxsize=1)
def valid_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_for(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name and name in valid_zones() else ZoneInfo(DEFAULT_ZONE)
    except ZoneInfoNotFoundError:  # pragma: no cover - available_timezones() said it exists
        return ZoneInfo(DEFAULT_ZONE)


# --- qualification ------------------------------------------------------------------------


def qualification_window_start(campaign: Campaign, now: dt.datetime) -> dt.datetime | None:
    """Since when an earlier send disqualifies a lead; None = ever (once)."""
    if campaign.qualification == Campaign.Qualification.ONCE_PER:
        return now - dt.timedelta(hours=campaign.qualification_period_hours or 24)
    return None


def already_qualified_q(
    campaign: Campaign, *, now: dt.datetime, exclude_run_id: int | None = None
) -> Q | None:
    """Device condition "its lead was already sent this campaign within the window" (EXISTS),
    or None for "every time". The run being resolved is excluded so a lead's second device in
    the same run is not mistaken for an earlier send."""
    if campaign.qualification == Campaign.Qualification.EVERY_TIME:
        return None
    earlier = Delivery.objects.filter(
        lead_id=OuterRef("lead_id"), run__campaign_id=campaign.pk, status__in=COUNTED_STATUSES
    )
    start = qualification_window_start(campaign, now)
    if start is not None:
        earlier = earlier.filter(created_at__gte=start)
    if exclude_run_id is not None:
        earlier = earlier.exclude(run_id=exclude_run_id)
    return Q(Exists(earlier))


# --- frequency caps -----------------------------------------------------------------------


def validate_frequency_cap(cap: Any) -> dict[str, Any]:
    if not cap:
        return {}
    if not isinstance(cap, dict):
        raise RuleError("frequency_cap", "must be an object {max, per}")
    limit = cap.get("max")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise RuleError("frequency_cap.max", "must be a whole number from 1 to 1000")
    if cap.get("per") not in CAP_WINDOWS:
        raise RuleError("frequency_cap.per", "must be day or week")
    return {"max": limit, "per": cap["per"]}


def capped_leads(cap: dict[str, Any], *, now: dt.datetime) -> QuerySet | None:
    """Lead ids that already received `max` pushes (distinct runs, any campaign) within the
    rolling window, as a subquery; None when no cap is set."""
    if not cap:
        return None
    return (
        Delivery.objects.filter(
            status=Delivery.Status.SENT,
            sent_at__gte=now - CAP_WINDOWS[cap["per"]],
            lead_id__isnull=False,
        )
        .values("lead_id")
        .annotate(pushes=Count("run_id", distinct=True))
        .filter(pushes__gte=cap["max"])
        .values("lead_id")
    )


# --- quiet hours and local times ----------------------------------------------------------


def validate_quiet_hours(quiet: Any) -> dict[str, str]:
    if not quiet:
        return {}
    if not isinstance(quiet, dict):
        raise RuleError("quiet_hours", "must be an object {start, end}")
    start = parse_hhmm(quiet.get("start"), "quiet_hours.start")
    end = parse_hhmm(quiet.get("end"), "quiet_hours.end")
    if start == end:
        raise RuleError("quiet_hours.end", "must differ from the start")
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def _in_quiet(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 22:00-08:00


def quiet_hours_release(
    planned: dt.datetime, quiet: dict[str, str], zone: ZoneInfo
) -> dt.datetime | None:
    """The end of quiet hours (aware UTC) when `planned` falls inside them, else None."""
    if not quiet:
        return None
    start, end = parse_hhmm(quiet["start"], "start"), parse_hhmm(quiet["end"], "end")
    local = planned.astimezone(zone)
    if not _in_quiet(local.time().replace(second=0, microsecond=0), start, end):
        return None
    release_date = local.date()
    if local.time() >= end:  # e.g. 23:10 with quiet 22:00-08:00: release tomorrow 08:00
        release_date += dt.timedelta(days=1)
    release = dt.datetime.combine(release_date, end, tzinfo=zone)
    return release.astimezone(dt.UTC)


def local_time_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`day` at `at` wall-clock time in `zone`, in UTC (DST: zoneinfo resolves gaps/folds)."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def planned_send_at(
    *,
    zone_name: str | None,
    now: dt.datetime,
    quiet: dict[str, str],
    local_day: dt.date | None = None,
    local_at: dt.time | None = None,
) -> dt.datetime | None:
    """When devices in one zone may be sent to: the local time (if scheduled so), moved past
    quiet hours. None means "now". A local time already past in that zone sends now."""
    zone = zone_for(zone_name)
    planned = now
    if local_day is not None and local_at is not None:
        planned = max(now, local_time_instant(local_day, local_at, zone))
    released = quiet_hours_release(planned, quiet, zone)
    if released is not None:
        planned = released
    return planned if planned > now else None
