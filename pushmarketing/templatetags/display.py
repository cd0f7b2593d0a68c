"""One way to show dates and counts on every page: "30 Nov 2026, 16:05 UTC" and "1,012"."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def when(value: dt.datetime | dt.date | None) -> str:
    """A moment in UTC ("30 Nov 2026, 16:05 UTC"), a day ("30 Nov 2026"), or "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        utc = value.astimezone(dt.UTC)
        return f"{utc.day} {utc:%b %Y, %H:%M} UTC"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


@register.filter
def count(value: int | None) -> str:
    """A whole number with thousands separators ("12,400")."""
    return f"{value or 0:,}"
