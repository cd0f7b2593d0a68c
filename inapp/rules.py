"""What a valid in-app message and campaign are: the rules the forms, the API serializers and
the services share. Pure: no writes. Every error names the field and the rule it broke."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from inapp.models import (
    ACTION_NAME_MAX_LENGTH,
    IMAGE_LAYOUTS,
    MAX_BUTTONS,
    TAP_TARGETS,
    TEXT_LAYOUTS,
    InAppCampaign,
    Layout,
    TapAction,
)
from notifications.personalization import TokenError, compile_template

# Marketo limits pop-up text to three lines; at roughly 50 characters a line on a phone in
# portrait, 150 characters keeps a pop-up from scrolling too.
POPUP_MAX_LINES = 3
POPUP_MAX_BODY_CHARS = 150
FULLSCREEN_MAX_BODY_CHARS = 1000
MAX_TITLE_CHARS = 200
MAX_BUTTON_LABEL_CHARS = 25
MAX_URI_CHARS = 2000
MAX_PRIORITY = 10
MAX_FREQUENCY_CAP_COUNT = 100
MAX_FREQUENCY_CAP_HOURS = 24 * 30
# WCAG 2.x AA for normal text: below this ratio the composer warns (inapp.previews).
MIN_CONTRAST_RATIO = 4.5
PLATFORMS = ("ios", "android")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class InAppError(ValueError):
    """A broken rule: `field` names the input (dotted for nested JSON), `rule` says why."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def color_validate(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _COLOR.match(value):
        raise InAppError(field, "must be a colour as #rrggbb")
    return value.lower()


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1.0 (none) to 21.0 (black on white)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _template_validate(text: str, field: str, known_fields: list[str] | None) -> None:
    try:
        compile_template(text, known_fields=known_fields)
    except TokenError as exc:
        raise InAppError(field, str(exc)) from exc


def tap_action_validate(
    value: Any, field: str, known_fields: list[str] | None, *, default: str
) -> dict[str, str]:
    """{"action": TapAction, "uri": str}; a deep link or URL needs its URI (tokens allowed)."""
    if value is None:
        return {"action": default, "uri": ""}
    if not isinstance(value, dict):
        raise InAppError(field, "must be an object with action and uri")
    action = value.get("action", default)
    if action not in TapAction.values:
        raise InAppError(f"{field}.action", f"must be one of: {', '.join(TapAction.values)}")
    uri = value.get("uri") or ""
    if not isinstance(uri, str) or len(uri) > MAX_URI_CHARS:
        raise InAppError(f"{field}.uri", f"must be text up to {MAX_URI_CHARS} characters")
    if action in (TapAction.DEEP_LINK, TapAction.URL):
        if not uri.strip():
            raise InAppError(f"{field}.uri", f"is required for the {action} action")
        _template_validate(uri, f"{field}.uri", known_fields)
        scheme = urlsplit(uri).scheme.lower()
        if action == TapAction.URL and scheme not in ("http", "https"):
            raise InAppError(f"{field}.uri", "must be an http:// or https:// address")
        if action == TapAction.DEEP_LINK and not scheme:
            raise InAppError(f"{field}.uri", "must be a URI with a scheme, e.g. myapp://offers")
    else:
        uri = ""
    return {"action": action, "uri": uri}


def _per_platform(
    value: Any, field: str, known_fields: list[str] | None, *, default: str
) -> dict[str, dict[str, str]]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InAppError(field, "must be an object with ios and android")
    unknown = set(value) - set(PLATFORMS)
    if unknown:
        raise InAppError(field, f"has unknown platform {sorted(unknown)[0]!r}: use ios, android")
    return {
        platform: tap_action_validate(
            value.get(platform), f"{field}.{platform}", known_fields, default=default
        )
        for platform in PLATFORMS
    }


def buttons_validate(
    value: Any, layout: str, known_fields: list[str] | None
) -> list[dict[str, Any]]:
    """1-2 buttons on layouts with text, 0-2 on image-only ones; a label and per-platform
    actions each (dismiss unless set)."""
    if value in (None, ""):
        value = []
    if not isinstance(value, list):
        raise InAppError("buttons", "must be a list of buttons")
    least = 1 if layout in TEXT_LAYOUTS else 0
    if not least <= len(value) <= MAX_BUTTONS:
        raise InAppError("buttons", f"must have {least}-{MAX_BUTTONS} buttons for this layout")
    clean = []
    for index, button in enumerate(value):
        where = f"buttons[{index}]"
        if not isinstance(button, dict):
            raise InAppError(where, "must be an object with label, ios and android")
        label = button.get("label")
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_BUTTON_LABEL_CHARS:
            raise InAppError(f"{where}.label", f"must be 1-{MAX_BUTTON_LABEL_CHARS} characters")
        _template_validate(label, f"{where}.label", known_fields)
        actions = _per_platform(
            {p: button.get(p) for p in PLATFORMS if button.get(p) is not None},
            where,
            known_fields,
            default=TapAction.DISMISS,
        )
        clean.append({"label": label.strip(), **actions})
    return clean


def tap_actions_validate(value: Any, known_fields: list[str] | None) -> dict[str, Any]:
    if value in (None, ""):
        value = {}
    if not isinstance(value, dict):
        raise InAppError("tap_actions", "must be an object keyed by text, image, background")
    unknown = set(value) - set(TAP_TARGETS)
    if unknown:
        raise InAppError(
            "tap_actions",
            f"has unknown target {sorted(unknown)[0]!r}: use {', '.join(TAP_TARGETS)}",
        )
    return {
        target: _per_platform(
            value.get(target), f"tap_actions.{target}", known_fields, default=TapAction.NONE
        )
        for target in TAP_TARGETS
    }


def message_content_validate(
    content: dict[str, Any], known_fields: list[str] | None
) -> dict[str, Any]:
    """The whole content of a message (inapp.content.CONTENT_FIELDS), normalized; raises the
    first broken rule. `image_url` is "" or the stored image's address."""
    layout = content.get("layout")
    if layout not in Layout.values:
        raise InAppError("layout", f"must be one of: {', '.join(Layout.values)}")
    title = content.get("title") or ""
    body = content.get("body") or ""
    if not isinstance(title, str) or len(title) > MAX_TITLE_CHARS:
        raise InAppError("title", f"must be text up to {MAX_TITLE_CHARS} characters")
    if not isinstance(body, str):
        raise InAppError("body", "must be text")
    if layout in TEXT_LAYOUTS:
        if not body.strip():
            raise InAppError("body", "is required for a layout with text")
        if layout.startswith("popup"):
            if body.count("\n") + 1 > POPUP_MAX_LINES:
                raise InAppError("body", f"a pop-up shows at most {POPUP_MAX_LINES} lines")
            if len(body) > POPUP_MAX_BODY_CHARS:
                raise InAppError(
                    "body", f"a pop-up holds at most {POPUP_MAX_BODY_CHARS} characters"
                )
        elif len(body) > FULLSCREEN_MAX_BODY_CHARS:
            raise InAppError("body", f"must be at most {FULLSCREEN_MAX_BODY_CHARS} characters")
        _template_validate(title, "title", known_fields)
        _template_validate(body, "body", known_fields)
    image_url = content.get("image_url") or ""
    if layout in IMAGE_LAYOUTS and not image_url:
        raise InAppError("image", "is required for a layout with an image")
    return {
        "layout": layout,
        "title": title if layout in TEXT_LAYOUTS else "",
        "body": body if layout in TEXT_LAYOUTS else "",
        "image_url": image_url if layout in IMAGE_LAYOUTS else "",
        "buttons": buttons_validate(content.get("buttons"), layout, known_fields),
        "tap_actions": tap_actions_validate(content.get("tap_actions"), known_fields),
        "background_color": color_validate(content.get("background_color"), "background_color"),
        "text_color": color_validate(content.get("text_color"), "text_color"),
        "button_color": color_validate(content.get("button_color"), "button_color"),
        "button_text_color": color_validate(content.get("button_text_color"), "button_text_color"),
        "close_button": bool(content.get("close_button", True)),
    }


def trigger_validate(trigger: Any, action_name: Any) -> tuple[str, str]:
    if trigger not in InAppCampaign.Trigger.values:
        raise InAppError("trigger", f"must be one of: {', '.join(InAppCampaign.Trigger.values)}")
    name = (action_name or "").strip() if isinstance(action_name, str | None) else None
    if name is None:
        raise InAppError("trigger_action_name", "must be text")
    if trigger == InAppCampaign.Trigger.CUSTOM_ACTION:
        if not 1 <= len(name) <= ACTION_NAME_MAX_LENGTH:
            raise InAppError(
                "trigger_action_name",
                f"is required for a custom action trigger, 1-{ACTION_NAME_MAX_LENGTH} characters",
            )
        return trigger, name
    return trigger, ""


def frequency_cap_validate(count: Any, hours: Any) -> tuple[int | None, int | None]:
    if count in (None, "") and hours in (None, ""):
        return None, None
    for value, field, most in (
        (count, "frequency_cap_count", MAX_FREQUENCY_CAP_COUNT),
        (hours, "frequency_cap_hours", MAX_FREQUENCY_CAP_HOURS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise InAppError(field, f"must be a whole number 1-{most} (set both or neither)")
    return count, hours


def priority_validate(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PRIORITY:
        raise InAppError("priority", f"must be a whole number 1-{MAX_PRIORITY} (10 wins)")
    return value
