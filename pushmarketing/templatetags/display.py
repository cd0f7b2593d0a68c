"""One way to show dates and counts on every page: "30 Nov 2026, 16:05 UTC" and "1,012" (in
French "30 nov. 2026, 16:05 UTC" and "1 012")."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.formats import number_format

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
    """A whole number with the active language's thousands separators ("12,400", "12 400")."""
    return number_format(value or 0, force_grouping=True)
