"""One way to show dates and counts on every page: "30 Nov 2026, 16:05 UTC" and "1,012"."""

from __future__ import annotations

import datetime as dt

from django import template

from pushmarketing.core.display import moment_text

register = template.Library()


@register.filter
def when(value: dt.datetime | dt.date | None, empty: str = "—") -> str:
    """A moment in UTC ("30 Nov 2026, 16:05 UTC"), a day ("30 Nov 2026"), or `empty`."""
    if not isinstance(value, dt.date):
        return empty
    return moment_text(value)


@register.filter
def count(value: int | None) -> str:
    """A whole number with thousands separators ("12,400")."""
    return f"{value or 0:,}"
