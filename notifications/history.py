"""A push's history entries as sentences ("Sample sent to Ana's iPhone, shown as
ana@example.com"), never the stored action codes and detail keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import ngettext

from notifications.models import NotificationEvent

ACTIONS = {
    "created": "Created",
    "approved": "Approved",
    "cloned": "Created as a copy of",
    "copied": "Copied to",
}
FIELD_NAMES = {
    "android_enabled": "Android switch",
    "ios_enabled": "iOS switch",
    "image_name": "image",
    "tap_uri": "link",
    "tap_action": "tap action",
    "custom_data": "custom data",
    "ttl_seconds": "time to live",
    "collapse_key": "collapse key",
    "android_channel_id": "Android channel",
    "android_sound": "Android sound",
    "ios_sound": "iOS sound",
}


@dataclass(frozen=True)
class HistoryLine:
    text: str
    link_url: str = ""
    link_label: str = ""


def _and(items: Sequence[str]) -> str:
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _push_link(push_id: Any) -> tuple[str, str]:
    if isinstance(push_id, bool) or not isinstance(push_id, int):
        return "", ""
    return reverse("notification-detail", args=[push_id]), f"push #{push_id}"


def history_line(action: str, details: dict[str, Any] | None) -> HistoryLine:
    """One history entry as a sentence, with a link when it names another push."""
    details = details or {}
    if action == "edited":
        fields = [FIELD_NAMES.get(f, str(f).replace("_", " ")) for f in details.get("fields", [])]
        locales = [str(code) for code in details.get("translations", [])]
        if locales:
            fields.append(
                ngettext("%(locales)s translation", "%(locales)s translations", len(locales))
                % {"locales": _and(locales)}
            )
        return HistoryLine(f"Changed the {_and(fields)}" if fields else "Saved without changes")
    if action == "sample_sent":
        devices = details.get("devices") or []
        text = f"Sample sent to {_and(devices)}" if devices else "Sample sent"
        if details.get("rendered_as"):
            text += f", personalized for {details['rendered_as']}"
        return HistoryLine(text)
    if action == "delete_refused":
        names = details.get("campaigns") or []
        return HistoryLine(f"Not deleted: {_and(names)} use{'s' if len(names) == 1 else ''} it")
    if action in ("cloned", "copied"):
        url, label = _push_link(details.get("from_id" if action == "cloned" else "to_id"))
        return HistoryLine(ACTIONS[action] if url else "Copied", url, label)
    return HistoryLine(ACTIONS.get(action, action.replace("_", " ").replace(".", " ").capitalize()))


def history_lines(
    events: Iterable[NotificationEvent],
) -> list[tuple[NotificationEvent, HistoryLine]]:
    return [(event, history_line(event.action, event.details)) for event in events]
