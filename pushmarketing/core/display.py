"""The one way dates are shown to people: "30 Nov 2026, 16:05 UTC" (a day: "30 Nov 2026").
Pages use it through the `when` template filter (pushmarketing.templatetags.display); flash
messages call it directly."""

from __future__ import annotations

import datetime as dt


def moment_text(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        utc = value.astimezone(dt.UTC)
        return f"{utc.day} {utc:%b %Y, %H:%M} UTC"
    return f"{value.day} {value:%b %Y}"
