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
    for row in Device.objects.values("app_id", "platform", "status").annotate(n=Count("id")):
        counts[(row["app_id"], row["platform"])][row["status"]] = row["n"]
    reasons: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    last_seen: dict[tuple[int, str], Any] = {}
    invalid = Device.objects.filter(status=Device.Status.TOKEN_INVALID)
    for row in invalid.values("app_id", "platform", "status_reason").annotate(
        n=Count("id"), last=Max("status_changed_at")
    ):
        key = (row["app_id"], row["platform"])
        reasons[key][row["status_reason"] or "unknown"] = row["n"]
        if row["last"] and (key not in last_seen or row["last"] > last_seen[key]):
            last_seen[key] = row["last"]
    trend: dict[tuple[int, str], dict[date, int]] = defaultdict(dict)
    recent = Device.objects.exclude(status=Device.Status.ACTIVE).filter(
        status_changed_at__gte=since
    )
    for row in (
        recent.annotate(day=TruncDate("status_changed_at"))
        .values("app_id", "platform", "day")
        .annotate(n=Count("id"))
    ):
        trend[(row["app_id"], row["platform"])][row["day"]] = row["n"]
    today = timezone.now().date()
    days_axis = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    out = []
    for key in sorted(counts, key=lambda k: (apps[k[0]].name.lower(), k[1])):
        app_id, platform = key
        row = counts[key]
        total = sum(row.values())
        out.append(
            {
                "app": apps[app_id],
                "platform": platform,
                "counts": row,
                "total": total,
                "invalid_percent": round(100 * row["token_invalid"] / total, 1) if total else 0.0,
                "invalid_by_reason": dict(sorted(reasons[key].items(), key=lambda kv: -kv[1])),
                "last_invalid_at": last_seen.get(key),
                "trend": [trend[key].get(day, 0) for day in days_axis],
            }
        )
    return out
