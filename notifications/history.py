"""A push's history entries as sentences ("Sample sent to Ana's iPhone, shown as
ana@example.com"), never the stored action codes and detail keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.models import NotificationEvent

ACTIONS = {
    "created": _("Created"),
    "approved": _("Approved"),
    "cloned": _("Created as a copy of"),
    "copied": _("Copied to"),
}
FIELD_NAMES = {
    "android_enabled": _("Android switch"),
    "ios_enabled": _("iOS switch"),
    "image_name": _("image"),
    "tap_uri": _("link"),
    "tap_action": _("tap action"),
    "custom_data": _("custom data"),
    "ttl_seconds": _("time to live"),
    "collapse_key": _("collapse key"),
    "android_channel_id": _("Android channel"),
    "android_sound": _("Android sound"),
    "ios_sound": _("iOS sound"),
    # The composer's own fields, named as their labels are.
    "name": _("name"),
    "title": _("title"),
    "subtitle": _("subtitle"),
    "message": _("message"),
    "badge": _("badge"),
    "priority": _("priority"),
    "app": _("app"),
}


@dataclass(frozen=True)
class HistoryLine:
    text: str
    link_url: str = ""
    link_label: str = ""


def _and(items: Sequence[object]) -> str:
    words = [str(i) for i in items if str(i)]
    if len(words) <= 1:
        return "".join(words)
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(words[:-1]), "last": words[-1]}


def _push_link(push_id: Any) -> tuple[str, str]:
    if isinstance(push_id, bool) or not isinstance(push_id, int):
        return "", ""
    return reverse("notification-detail", args=[push_id]), gettext("push #%(id)s") % {"id": push_id}


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
        if not fields:
            return HistoryLine(gettext("Saved without changes"))
        return HistoryLine(gettext("Changed the %(fields)s") % {"fields": _and(fields)})
    if action == "sample_sent":
        devices = details.get("devices") or []
        text = (
            gettext("Sample sent to %(devices)s") % {"devices": _and(devices)}
            if devices
            else gettext("Sample sent")
        )
        if details.get("rendered_as"):
            text += gettext(", personalized for %(lead)s") % {"lead": details["rendered_as"]}
        return HistoryLine(text)
    if action == "delete_refused":
        names = details.get("campaigns") or []
        return HistoryLine(
            ngettext("Not deleted: %(names)s uses it", "Not deleted: %(names)s use it", len(names))
            % {"names": _and(names)}
        )
    if action in ("cloned", "copied"):
        url, label = _push_link(details.get("from_id" if action == "cloned" else "to_id"))
        return HistoryLine(str(ACTIONS[action]) if url else gettext("Copied"), url, label)
    known = ACTIONS.get(action)
    return HistoryLine(
        str(known) if known else action.replace("_", " ").replace(".", " ").capitalize()
    )


def history_lines(
    events: Iterable[NotificationEvent],
) -> list[tuple[NotificationEvent, HistoryLine]]:
    return [(event, history_line(event.action, event.details)) for event in events]
