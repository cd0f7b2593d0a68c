"""What each phone shows, derived from the very payloads the transports send.

The composer's live previews call `preview_build`, which renders the tokens for one lead (or
the defaults), builds the FCM message and the APNs request with `notifications.payloads`, then
reads the title / subtitle / body / image back out of those dicts and clips them the way each
OS does. The clipping rules live here, server-side, so tests pin them and the UI only draws.

Truncation rules (approximations of stock Android 14 and iOS 17 at default text size; a
"line" is a count of characters because the server cannot measure glyphs):

- Android collapsed (home shade and lock screen): title 1 line of ~40 characters, body 1 line
  of ~50 characters; line breaks in the body are shown as spaces.
- Android expanded (BigText / BigPicture): title 1 line (~40), body up to 8 lines of ~50; with
  an image the expanded form shows the big picture (2:1 centre crop) under a 1-line body.
- iOS lock screen, home banner and Notification Center: title 1 line (~35), subtitle 1 line
  (~35), body up to 4 lines of ~44 characters and never more than 178 characters; the image is
  a thumbnail on the right, shown full width when the notification is long-pressed (expanded).
- iOS app in foreground: the system shows nothing; the app's own notification area shows
  title 1 line (~35) and body up to 3 lines (~44) — the SDK reads `pm_*` keys for it.

Payload meter rule: sizes are measured for the worst case a campaign can meet — every token is
counted as a value of its field's maximum length in ASCII characters (standard fields: the Lead
column's max_length, e.g. First Name 100, Email Address 254; custom fields 100), or as its
default when that is longer, and ids as 19-digit numbers. Non-ASCII lead values take more
bytes per character; the limit check is repeated for the real values at send time.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext, ngettext

from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import Device, Lead, MobileApp
from notifications.content import PushContent
from notifications.payloads import (
    MAX_PAYLOAD_BYTES,
    PushIds,
    apns_payload_size,
    apns_request,
    fcm_message,
    fcm_payload_size,
)
from notifications.personalization import CompiledContent, compile_content_lenient

ELLIPSIS = "…"
PREVIEW_TOKEN = "preview-device-token"  # noqa: S105 - a stand-in push token, not a secret
MAX_ID = 9_223_372_036_854_775_807  # PostgreSQL bigint: the longest id a payload can carry
CUSTOM_FIELD_WORST_CASE_CHARS = 100
METER_WARN_RATIO = 0.8


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


@dataclass(frozen=True)
class ClipRule:
    chars_per_line: int
    lines: int
    max_chars: int | None = None

    def describe(self) -> str:
        lines = ngettext(
            "%(lines)d line of ~%(chars)d characters",
            "%(lines)d lines of ~%(chars)d characters",
            self.lines,
        ) % {"lines": self.lines, "chars": self.chars_per_line}
        if self.max_chars:
            lines += gettext(", at most %(max)d characters") % {"max": self.max_chars}
        return lines


RULES: dict[str, ClipRule] = {
    "android_collapsed_title": ClipRule(40, 1),
    "android_collapsed_body": ClipRule(50, 1),
    "android_expanded_title": ClipRule(40, 1),
    "android_expanded_body": ClipRule(50, 8),
    "android_picture_body": ClipRule(50, 1),
    "ios_title": ClipRule(35, 1),
    "ios_subtitle": ClipRule(35, 1),
    "ios_body": ClipRule(44, 4, max_chars=178),
    "ios_foreground_title": ClipRule(35, 1),
    "ios_foreground_body": ClipRule(44, 3),
}


@dataclass(frozen=True)
class Clipped:
    # Soft line breaks are spaces again (the phone mock-up wraps to its own width);
    # the marketer's own line breaks stay "\n". `lines` is the wrapping the rule counted.
    text: str
    truncated: bool
    lines: tuple[str, ...] = ()


def _join(kept: list[tuple[int, str]]) -> str:
    out: list[str] = []
    for position, (paragraph, line) in enumerate(kept):
        if position:
            out.append("\n" if paragraph != kept[position - 1][0] else " ")
        out.append(line)
    return "".join(out)


def clip(text: str, rule: ClipRule) -> Clipped:
    """Wrap `text` to the rule's lines and cut with an ellipsis where the OS would."""
    text = text.strip()
    if not text:
        return Clipped("", False)
    # One-line layouts draw line breaks as spaces.
    paragraphs = [" ".join(text.split())] if rule.lines == 1 else text.splitlines()
    wrapped = [
        (index, line)
        for index, paragraph in enumerate(paragraphs)
        for line in textwrap.wrap(paragraph, rule.chars_per_line, break_long_words=True) or [""]
    ]
    truncated = len(wrapped) > rule.lines
    kept = wrapped[: rule.lines]
    if truncated:
        paragraph, line = kept[-1]
        kept[-1] = (paragraph, line[: rule.chars_per_line - 1].rstrip() + ELLIPSIS)
    result = _join(kept)
    if rule.max_chars is not None and len(result) > rule.max_chars:
        result = result[: rule.max_chars - 1].rstrip() + ELLIPSIS
        truncated = True
    return Clipped(result, truncated, tuple(line for _, line in kept))


def _clipped(text: str, rule_name: str) -> dict[str, Any]:
    result = clip(text, RULES[rule_name])
    return {"text": result.text, "truncated": result.truncated}


def _lead_field_max_length(attr: str) -> int:
    field = Lead._meta.get_field(attr)
    max_length = field.max_length if isinstance(field, models.Field) else None
    return max_length or CUSTOM_FIELD_WORST_CASE_CHARS


def worst_case_values(compiled: CompiledContent) -> dict[str, str]:
    """Token values for the size meter (see the module docstring for the rule)."""
    lengths = {name: _lead_field_max_length(attr) for name, attr in STANDARD_LEAD_FIELDS.items()}
    values: dict[str, str] = {}
    for token in compiled.tokens:
        length = lengths.get(token.field, CUSTOM_FIELD_WORST_CASE_CHARS)
        length = max(length, len(token.default or ""))
        values[token.field] = "x" * max(length, len(values.get(token.field, "")))
    return values


@dataclass(frozen=True)
class PayloadSizes:
    fcm: int | None  # None when the platform is off
    apns: int | None

    def problems(self) -> list[str]:
        out = []
        for label, size in (("Android (FCM)", self.fcm), ("iOS (APNs)", self.apns)):
            if size is not None and size > MAX_PAYLOAD_BYTES:
                out.append(
                    gettext(
                        "The %(platform)s payload would be %(size)s bytes in the worst case; "
                        "the limit is %(limit)s (over by %(over)s). Shorten the text or the "
                        "custom data, or use shorter token defaults."
                    )
                    % {
                        "platform": label,
                        "size": _number(size),
                        "limit": _number(MAX_PAYLOAD_BYTES),
                        "over": _number(size - MAX_PAYLOAD_BYTES),
                    }
                )
        return out


def _payloads(
    content: PushContent,
    compiled: CompiledContent,
    values: dict[str, str],
    ids: PushIds,
    topic: str,
) -> tuple[dict[str, Any], Any]:
    text = compiled.render(values)
    return fcm_message(content, text, ids, PREVIEW_TOKEN), apns_request(
        content, text, ids, topic=topic, now=0
    )


def payload_sizes(content: PushContent, *, topic: str = "") -> PayloadSizes:
    """Worst-case byte sizes of both payloads (None for a platform that is off)."""
    compiled, _errors = compile_content_lenient(content)
    ids = PushIds(delivery_id=MAX_ID, notification_id=MAX_ID, run_id=MAX_ID)
    message, request = _payloads(content, compiled, worst_case_values(compiled), ids, topic)
    return PayloadSizes(
        fcm=fcm_payload_size(message) if content.android_enabled else None,
        apns=apns_payload_size(request) if content.ios_enabled else None,
    )


def _meter(size: int | None, actual: int | None) -> dict[str, Any] | None:
    if size is None:
        return None
    ratio = size / MAX_PAYLOAD_BYTES
    if size > MAX_PAYLOAD_BYTES:
        level = "bad"
        verdict = gettext("too big by %(over)s bytes") % {"over": _number(size - MAX_PAYLOAD_BYTES)}
    else:
        level = "warn" if ratio >= METER_WARN_RATIO else "ok"
        verdict = gettext("fits, %(left)s bytes left") % {"left": _number(MAX_PAYLOAD_BYTES - size)}
    return {
        "bytes": size,
        "preview_bytes": actual,
        "limit": MAX_PAYLOAD_BYTES,
        "percent": min(100, round(ratio * 100)),
        "level": level,
        "text": gettext("%(size)s / %(limit)s bytes — %(verdict)s")
        % {"size": _number(size), "limit": _number(MAX_PAYLOAD_BYTES), "verdict": verdict},
    }


def _android_preview(message: dict[str, Any], app_name: str) -> dict[str, Any]:
    notification = message["notification"]
    title = notification.get("title", "")
    body = notification.get("body", "")
    image = notification.get("image", "")
    return {
        "app_name": app_name,
        "image": image,
        "collapsed": {
            "title": _clipped(title, "android_collapsed_title"),
            "body": _clipped(body, "android_collapsed_body"),
        },
        "expanded": {
            "title": _clipped(title, "android_expanded_title"),
            "body": _clipped(body, "android_picture_body" if image else "android_expanded_body"),
        },
        "sound": bool(message["android"]["notification"].get("default_sound")),
        "badge": message["android"]["notification"].get("notification_count"),
        "tap": message["data"].get("pm_tap_uri", ""),
    }


def _ios_preview(payload: dict[str, Any], app_name: str) -> dict[str, Any]:
    aps = payload["aps"]
    alert = aps["alert"]
    title, subtitle, body = alert.get("title", ""), alert.get("subtitle", ""), alert["body"]
    return {
        "app_name": app_name,
        # The notification service extension attaches the image named by pm_image_url.
        "image": payload.get("pm_image_url", ""),
        "banner": {
            "title": _clipped(title, "ios_title"),
            "subtitle": _clipped(subtitle, "ios_subtitle"),
            "body": _clipped(body, "ios_body"),
        },
        "expanded": {"title": title, "subtitle": subtitle, "body": body},
        "foreground": {
            "title": _clipped(title, "ios_foreground_title"),
            "body": _clipped(body, "ios_foreground_body"),
        },
        "sound": "sound" in aps,
        "badge": aps.get("badge"),
        "tap": payload.get("pm_tap_uri", ""),
    }


def preview_build(
    content: PushContent,
    *,
    app: MobileApp | None,
    values: dict[str, str],
    notification_id: int = 0,
    known_fields: list[str] | None = None,
) -> dict[str, Any]:
    """Everything the composer draws: per-platform previews, the meter, token errors.
    A field whose tokens do not compile is shown as typed, so the mistake is visible."""
    compiled, token_errors = compile_content_lenient(content, known_fields=known_fields)
    topic = app.ios_bundle_id if app else ""
    ids = PushIds(delivery_id=0, notification_id=notification_id, run_id=0)
    message, request = _payloads(content, compiled, values, ids, topic)
    sizes = payload_sizes(content, topic=topic)
    app_name = app.name if app else gettext("Your app")
    return {
        "android": _android_preview(message, app_name) if content.android_enabled else None,
        "ios": _ios_preview(request.payload, app_name) if content.ios_enabled else None,
        "app_icon": app.icon.url if app and app.icon else "",
        "meter": {
            "android": _meter(sizes.fcm, fcm_payload_size(message)),
            "ios": _meter(sizes.apns, apns_payload_size(request)),
            "problems": sizes.problems(),
        },
        "token_errors": token_errors,
    }


def preview_locale(*, lead: Lead | None, app: MobileApp | None) -> str:
    """The BCP 47 locale the phone previews' clock and date are written in: that of the lead's
    most recently opened device of the app (devices report "fr_FR"), else the page's language."""
    if lead is not None:
        devices = Device.objects.filter(lead=lead).exclude(locale="")
        if app is not None:
            devices = devices.filter(app=app)
        locale = devices.order_by("-last_opened_at", "-id").values_list("locale", flat=True).first()
        if locale:
            return locale.replace("_", "-")
    return get_language() or "en"


def rules_help() -> list[tuple[str, str]]:
    """(where, rule) pairs the composer prints under the previews."""

    def rule(name: str) -> str:
        return RULES[name].describe()

    return [
        (
            gettext("Android collapsed & lock"),
            gettext("title %(title)s; body %(body)s")
            % {"title": rule("android_collapsed_title"), "body": rule("android_collapsed_body")},
        ),
        (
            gettext("Android expanded"),
            gettext(
                "body %(body)s; with an image the big picture is a 2:1 centre crop under a "
                "1-line body"
            )
            % {"body": rule("android_expanded_body")},
        ),
        (
            gettext("iOS lock, banner & Notification Center"),
            gettext(
                "title %(title)s; body %(body)s; image as a thumbnail, full width when long-pressed"
            )
            % {"title": rule("ios_title"), "body": rule("ios_body")},
        ),
        (
            gettext("iOS app in foreground"),
            gettext(
                "no system banner; the app's own notification area shows the title and body "
                "%(body)s"
            )
            % {"body": rule("ios_foreground_body")},
        ),
        (
            gettext("Payload meter"),
            gettext(
                "tokens counted at their field's maximum length (First Name 100, Email 254, "
                "custom fields 100) or their default if longer; limit 4,096 bytes each"
            ),
        ),
    ]
