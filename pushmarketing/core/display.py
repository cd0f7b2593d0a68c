"""The one way dates are shown to people: "30 Nov 2026, 16:05 UTC" (a day: "30 Nov 2026"), in
French "30 nov. 2026, 16:05 UTC". Pages use it through the `when` template filter
(pushmarketing.templatetags.display); flash messages call it directly."""

from __future__ import annotations

import datetime as dt

from django.utils import dateformat
from django.utils.translation import pgettext


def moment_text(value: dt.datetime | dt.date) -> str:
    # The format strings are in the catalogue, so each language orders and names the month its
    # own way; dateformat translates the month names.
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        utc = value.astimezone(dt.UTC)
        return dateformat.format(utc, pgettext("date and time format", "j M Y, H:i")) + " UTC"
    return dateformat.format(value, pgettext("date format", "j M Y"))
