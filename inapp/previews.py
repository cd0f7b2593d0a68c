"""What a phone shows for an in-app message: one renderer for the composer's live previews,
the campaign page and the virtual devices of the demo.

`preview_build` renders the tokens for one lead (or the defaults) and lays the message out in
the Android and iOS phone frames: portrait for every layout, landscape as well for the
full-screen ones (a pop-up keeps its size when the phone turns, so a second frame would show
nothing new). The layout rules live here, server-side, so tests pin them and the page only
draws the HTML the `inapp/_phone.html` template makes of them.

Layout rules (Marketo's floor, stated in the composer's help too):

- pop-up text is at most 3 lines; a "line" is ~50 characters on the pop-up card (the server
  cannot measure glyphs), longer text is cut with an ellipsis as the SDK does;
- the pop-up title is 1 line; full screen shows a 2-line title and a body of up to 12 lines
  portrait, 6 landscape (a landscape screen is about half as tall);
- layouts without an image never show one; image-only layouts show no text and no buttons
  (the image itself is the tap target);
- contrast: the text colour against the background colour is checked against WCAG 2.1 AA
  (4.5:1 for body text); below it the composer warns but does not refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from inapp import rules
from notifications.personalization import TokenError, compile_template
from notifications.previews import ClipRule, clip

# The six layouts of the layout picker: (value, family, shows image, shows text and buttons).
LAYOUTS: dict[str, tuple[str, bool, bool]] = {
    "popup_text": ("popup", False, True),
    "popup_image_text": ("popup", True, True),
    "popup_image": ("popup", True, False),
    "fullscreen_text": ("fullscreen", False, True),
    "fullscreen_image_text": ("fullscreen", True, True),
    "fullscreen_image": ("fullscreen", True, False),
}
POPUP_BODY_LINES = 3
RULES: dict[str, ClipRule] = {
    "popup_title": ClipRule(40, 1),
    "popup_body": ClipRule(50, POPUP_BODY_LINES),
    "fullscreen_title": ClipRule(30, 2),
    "fullscreen_body_portrait": ClipRule(36, 12),
    "fullscreen_body_landscape": ClipRule(70, 6),
    "button": ClipRule(18, 1),
}
WCAG_AA_NORMAL_TEXT = rules.MIN_CONTRAST_RATIO
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class InAppButton:
    label: str
    # Per platform: "dismiss", "deep_link" or "url", and the link when not dismiss.
    android_action: str = "dismiss"
    android_uri: str = ""
    ios_action: str = "dismiss"
    ios_uri: str = ""


@dataclass(frozen=True)
class InAppContent:
    """The fields a preview needs, from the composer's form or a stored message."""

    layout: str
    title: str = ""
    body: str = ""
    image_url: str = ""
    buttons: tuple[InAppButton, ...] = ()
    background_color: str = "#ffffff"
    text_color: str = "#1d2330"
    button_color: str = "#3e63dd"
    button_text_color: str = "#ffffff"
    close_button: bool = True
    # Tap actions on the message body and the image / background, per platform.
    tap: dict[str, dict[str, str]] = field(default_factory=dict)


def contrast_ratio(foreground: str, background: str) -> float | None:
    """The WCAG ratio of two `#rrggbb` colours (inapp.rules'), None if one is not a colour
    yet (the marketer is still typing it)."""
    if not (COLOR_RE.match(foreground) and COLOR_RE.match(background)):
        return None
    return round(rules.contrast_ratio(foreground, background), 2)


def contrast_warnings(content: InAppContent) -> list[str]:
    """One sentence per colour pair below WCAG AA, naming both colours and the ratio."""
    warnings = []
    pairs = [
        (_("Text colour"), content.text_color, _("background colour"), content.background_color)
    ]
    if content.buttons:
        pairs.append(
            (
                _("Button text colour"),
                content.button_text_color,
                _("button colour"),
                content.button_color,
            )
        )
    for fg_name, fg, bg_name, bg in pairs:
        ratio = contrast_ratio(fg, bg)
        if ratio is not None and ratio < WCAG_AA_NORMAL_TEXT:
            warnings.append(
                _(
                    "%(fg_name)s %(fg)s on %(bg_name)s %(bg)s has a contrast of %(ratio)s:1; "
                    "WCAG AA asks for at least %(minimum)s:1 — some readers will struggle "
                    "to read it."
                )
                % {
                    "fg_name": fg_name,
                    "fg": fg,
                    "bg_name": bg_name,
                    "bg": bg,
                    "ratio": ratio,
                    "minimum": WCAG_AA_NORMAL_TEXT,
                }
            )
    return warnings


def _render(text: str, values: dict[str, str], errors: dict[str, str], name: str) -> str:
    """Tokens filled for the lead; a text whose tokens do not compile is shown as typed."""
    try:
        return compile_template(text).render(values)
    except TokenError as exc:
        errors[name] = str(exc)
        return text


def _clipped(text: str, rule_name: str) -> dict[str, Any]:
    result = clip(text, RULES[rule_name])
    return {"text": result.text, "truncated": result.truncated}


def _frame(
    content: InAppContent,
    *,
    platform: str,
    orientation: str,
    title: str,
    body: str,
    buttons: list[dict[str, Any]],
) -> dict[str, Any]:
    family, has_image, has_text = LAYOUTS[content.layout]
    if family == "popup":
        title_rule, body_rule = "popup_title", "popup_body"
    else:
        title_rule, body_rule = "fullscreen_title", f"fullscreen_body_{orientation}"
    return {
        "platform": platform,
        "orientation": orientation,
        "family": family,
        "layout": content.layout,
        "image": content.image_url if has_image else "",
        "image_missing": has_image and not content.image_url,
        "title": _clipped(title, title_rule) if has_text else None,
        "body": _clipped(body, body_rule) if has_text else None,
        "buttons": buttons if has_text else [],
        "close_button": content.close_button,
        "colors": {
            "background": content.background_color,
            "text": content.text_color,
            "button": content.button_color,
            "button_text": content.button_text_color,
        },
    }


def _button_view(button: InAppButton, platform: str, label: str) -> dict[str, Any]:
    action = button.ios_action if platform == "ios" else button.android_action
    uri = button.ios_uri if platform == "ios" else button.android_uri
    return {"label": _clipped(label, "button")["text"], "action": action or "dismiss", "uri": uri}


def preview_build(
    content: InAppContent, *, values: dict[str, str], app_name: str = ""
) -> dict[str, Any]:
    """Everything the composer draws: the frames per platform, warnings and token errors."""
    if content.layout not in LAYOUTS:
        raise ValueError(f"unknown layout {content.layout!r}")
    token_errors: dict[str, str] = {}
    title = _render(content.title, values, token_errors, "title")
    body = _render(content.body, values, token_errors, "body")
    labels = [
        _render(button.label, values, token_errors, f"button_{index}_label")
        for index, button in enumerate(content.buttons, start=1)
    ]
    family = LAYOUTS[content.layout][0]
    orientations = ("portrait", "landscape") if family == "fullscreen" else ("portrait",)
    frames = {
        platform: [
            _frame(
                content,
                platform=platform,
                orientation=orientation,
                title=title,
                body=body,
                buttons=[
                    _button_view(button, platform, label)
                    for button, label in zip(content.buttons, labels, strict=True)
                ],
            )
            for orientation in orientations
        ]
        for platform in ("android", "ios")
    }
    return {
        "app_name": app_name or "Your app",
        "layout": content.layout,
        "family": family,
        "frames": frames,
        "contrast_warnings": contrast_warnings(content),
        "token_errors": token_errors,
        "body_truncated": any(
            frame["body"] is not None and frame["body"]["truncated"] for frame in frames["android"]
        ),
    }


def rules_help() -> list[tuple[str, str]]:
    """(where, rule) pairs the composer prints under the previews."""
    return [
        (
            _("Pop-up"),
            _("title: %(title)s; text: %(body)s (Marketo's three-line limit)")
            % {"title": RULES["popup_title"].describe(), "body": RULES["popup_body"].describe()},
        ),
        (
            _("Full screen"),
            _("title: %(title)s; text: %(portrait)s portrait, %(landscape)s landscape")
            % {
                "title": RULES["fullscreen_title"].describe(),
                "portrait": RULES["fullscreen_body_portrait"].describe(),
                "landscape": RULES["fullscreen_body_landscape"].describe(),
            },
        ),
        (
            _("Buttons"),
            _("label: %(rule)s; one or two per message") % {"rule": RULES["button"].describe()},
        ),
        (
            _("Colours"),
            _("text against background at least %(minimum)s:1 (WCAG AA)")
            % {"minimum": WCAG_AA_NORMAL_TEXT},
        ),
    ]


def frame_from_rendered(
    message: dict[str, Any], *, platform: str, orientation: str = "portrait"
) -> dict[str, Any]:
    """The phone frame for a message as the SDK receives it (inapp.content's render): the
    virtual devices draw exactly what "what should I show now?" answered."""
    content = InAppContent(
        layout=message["layout"],
        title=message.get("title", ""),
        body=message.get("body", ""),
        image_url=message.get("image_url", ""),
        buttons=tuple(
            InAppButton(
                label=b["label"],
                android_action=b["action"],
                android_uri=b["uri"],
                ios_action=b["action"],
                ios_uri=b["uri"],
            )
            for b in message.get("buttons", [])
        ),
        background_color=message["colors"]["background"],
        text_color=message["colors"]["text"],
        button_color=message["colors"]["button"],
        button_text_color=message["colors"]["button_text"],
        close_button=bool(message.get("close_button")),
    )
    frame = _frame(
        content,
        platform=platform,
        orientation=orientation,
        title=content.title,
        body=content.body,
        buttons=[_button_view(b, platform, b.label) for b in content.buttons],
    )
    # The parts a tap does something on (the SDK reports a tap only there).
    frame["tappable"] = {
        target: action.get("action", "none") != "none"
        for target, action in (message.get("tap_actions") or {}).items()
    }
    return frame
