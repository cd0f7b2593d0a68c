"""Token health for admins: per app and platform, active / invalid / unregistered devices,
the invalid ones by reason, and the daily trend of tokens going bad."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from devices.models import Device, MobileApp

STATUSES = [s.value for s in Device.Status]


def token_health(*, days: int = 30) -> list[dict[str, Any]]:
    """One entry per app and platform: three GROUP BY queries in all, whatever the app count."""
    since = timezone.now() - timedelta(days=days)
    apps = {app.pk: app for app in MobileApp.objects.all()}
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    by_status = Device.objects.values("app_id", "platform", "status").annotate(n=Count("id"))
    for status_row in by_status:
        counts[(status_row["app_id"], status_row["platform"])][status_row["status"]] = status_row[
            "n"
        ]
    reasons: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    last_seen: dict[tuple[int, str], Any] = {}
    invalid = Device.objects.filter(status=Device.Status.TOKEN_INVALID)
    for reason_row in invalid.values("app_id", "platform", "status_reason").annotate(
        n=Count("id"), last=Max("status_changed_at")
    ):
        key = (reason_row["app_id"], reason_row["platform"])
        reasons[key][reason_row["status_reason"] or "unknown"] = reason_row["n"]
        last = reason_row["last"]
        if last and (key not in last_seen or last > last_seen[key]):
            last_seen[key] = last
    trend: dict[tuple[int, str], dict[date, int]] = defaultdict(dict)
    recent = Device.objects.exclude(status=Device.Status.ACTIVE).filter(
        status_changed_at__gte=since
    )
    for day_row in (
        recent.annotate(day=TruncDate("status_changed_at"))
        .values("app_id", "platform", "day")
        .annotate(n=Count("id"))
    ):
        trend[(day_row["app_id"], day_row["platform"])][day_row["day"]] = day_row["n"]
    today = timezone.now().date()
    days_axis = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    out = []
    for key in sorted(counts, key=lambda k: (apps[k[0]].name.lower(), k[1])):
        app_id, platform = key
        app_counts = counts[key]
        total = sum(app_counts.values())
        out.append(
            {
                "app": apps[app_id],
                "platform": platform,
                "counts": app_counts,
                "total": total,
                "invalid_percent": round(100 * app_counts["token_invalid"] / total, 1)
                if total
                else 0.0,
                "invalid_by_reason": dict(sorted(reasons[key].items(), key=lambda kv: -kv[1])),
                "last_invalid_at": last_seen.get(key),
                "trend": [trend[key].get(day, 0) for day in days_axis],
            }
        )
    return out
