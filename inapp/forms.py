"""The in-app composer form: parses and validates one message's working copy.

The same form runs for a save and for each live preview request, so the marketer sees an
error under the field before pressing Save. Every rule names its field and the rule."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from devices.models import MobileApp
from inapp.models import InAppMessage, Layout, TapAction
from inapp.previews import COLOR_RE, LAYOUTS, InAppButton, InAppContent
from notifications.images import image_absolute_url
from notifications.personalization import TokenError, compile_template

# A button always does something (dismiss by default, as in Marketo); the text, image and
# background may also do nothing.
BUTTON_TAP_ACTIONS = [c for c in TapAction.choices if c[0] != TapAction.NONE]
TARGET_TAP_ACTIONS = TapAction.choices
PLATFORMS = (("android", "Android"), ("ios", "iOS"))
# Where a tap can land besides the buttons (Marketo: text, image, background).
TAP_TARGETS = (("text", _("Text")), ("image", _("Image")), ("background", _("Background")))
MAX_BUTTONS = 2
DEEP_LINK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _model_default(name: str) -> str:
    field = InAppMessage._meta.get_field(name)
    return str(field.default) if isinstance(field, models.Field) else ""


DEFAULT_COLORS: dict[str, str] = {
    name: _model_default(name)
    for name in ("background_color", "text_color", "button_color", "button_text_color")
}
COLOR_LABELS = {
    "background_color": _("Background colour"),
    "text_color": _("Text colour"),
    "button_color": _("Button colour"),
    "button_text_color": _("Button text colour"),
}
TOKEN_STAND_IN = "x"  # noqa: S105 - a token's stand-in text, not a secret


def _tap_field_names(prefix: str) -> list[tuple[str, str, str]]:
    """(platform, action field, uri field) for one tap target or button."""
    return [(p, f"{prefix}_{p}_action", f"{prefix}_{p}_uri") for p, _label in PLATFORMS]


class InAppMessageForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label=_("Name"),
        error_messages={"required": _("Name: give the message a name.")},
    )
    app = forms.ModelChoiceField(
        queryset=MobileApp.objects.order_by("name"), empty_label=None, label=_("Mobile app")
    )
    layout = forms.ChoiceField(
        choices=Layout.choices,
        initial="popup_text",
        widget=forms.RadioSelect,
        label=_("Layout"),
        error_messages={"invalid_choice": _("Layout: pick one of the six layouts.")},
    )
    title = forms.CharField(max_length=200, required=False, label=_("Title"))
    body = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Text")
    )
    image_file = forms.FileField(required=False, label=_("Image"))
    image_name = forms.CharField(required=False, widget=forms.HiddenInput)
    close_button = forms.BooleanField(required=False, initial=True, label=_("Close button"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, color in DEFAULT_COLORS.items():
            self.fields[name] = forms.CharField(
                max_length=7,
                initial=color,
                label=COLOR_LABELS[name],
                widget=forms.TextInput(attrs={"type": "color"}),
            )
        for index in range(1, MAX_BUTTONS + 1):
            self.fields[f"button_{index}_label"] = forms.CharField(
                max_length=40,
                required=False,
                label=_("Button %(n)s label") % {"n": index},
            )
            self._add_tap_fields(f"button_{index}", BUTTON_TAP_ACTIONS, TapAction.DISMISS)
        for target, _label in TAP_TARGETS:
            self._add_tap_fields(target, TARGET_TAP_ACTIONS, TapAction.NONE)
        for name in ("title", "body", "button_1_label", "button_2_label"):
            self.fields[name].widget.attrs["data-tokens"] = "1"
        self.fields["title"].widget.attrs["placeholder"] = "Hi {{lead.First Name:default=there}}"

    def _add_tap_fields(self, prefix: str, choices: list[tuple[str, Any]], initial: str) -> None:
        for platform, action_name, uri_name in _tap_field_names(prefix):
            platform_label = dict(PLATFORMS)[platform]
            self.fields[action_name] = forms.ChoiceField(
                choices=choices,
                initial=initial,
                required=False,
                label=_("On %(platform)s") % {"platform": platform_label},
            )
            self.fields[uri_name] = forms.CharField(
                max_length=2000,
                required=False,
                label=_("Link on %(platform)s") % {"platform": platform_label},
                widget=forms.TextInput(attrs={"placeholder": "myapp://offers"}),
            )

    # Groups the template iterates over.
    def button_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "index": index,
                "label": self[f"button_{index}_label"],
                "taps": self._tap_group(f"button_{index}"),
            }
            for index in range(1, MAX_BUTTONS + 1)
        ]

    def target_groups(self) -> list[dict[str, Any]]:
        return [
            {"name": target, "label": label, "taps": self._tap_group(target)}
            for target, label in TAP_TARGETS
        ]

    def color_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in DEFAULT_COLORS]

    def _tap_group(self, prefix: str) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[a], self[u]) for _p, a, u in _tap_field_names(prefix)]

    # Validation ------------------------------------------------------------------------

    def _check_tokens(self, name: str, text: str) -> None:
        try:
            compile_template(text)
        except TokenError as exc:
            self.add_error(name, f"{self.fields[name].label}: {exc}")

    def _check_tap(self, prefix: str, cleaned: dict[str, Any], default: str) -> None:
        for _platform, action_name, uri_name in _tap_field_names(prefix):
            action = cleaned.get(action_name) or default
            cleaned[action_name] = action
            uri = (cleaned.get(uri_name) or "").strip()
            linked = action in (TapAction.DEEP_LINK, TapAction.URL)
            cleaned[uri_name] = uri if linked else ""
            label = self.fields[uri_name].label
            if not linked:
                continue
            if not uri:
                self.add_error(
                    uri_name, _("%(field)s: required for this action.") % {"field": label}
                )
                continue
            try:
                shape = compile_template(uri)
            except TokenError as exc:
                self.add_error(uri_name, f"{label}: {exc}")
                continue
            plain = shape.render({t.field: TOKEN_STAND_IN for t in shape.tokens})
            if action == "url":
                try:
                    URLValidator(schemes=["http", "https"])(plain)
                except ValidationError:
                    self.add_error(
                        uri_name,
                        _("%(field)s: must be an http:// or https:// URL.") % {"field": label},
                    )
            elif not DEEP_LINK_RE.match(plain):
                self.add_error(
                    uri_name,
                    _("%(field)s: a deep link is scheme:path, e.g. myapp://offers.")
                    % {"field": label},
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        layout = cleaned.get("layout")
        _family, has_image, has_text = LAYOUTS.get(layout or "", ("", False, True))
        for name in DEFAULT_COLORS:
            value = cleaned.get(name) or ""
            if not COLOR_RE.match(value):
                self.add_error(
                    name,
                    _("%(field)s: must be a colour as #rrggbb.")
                    % {"field": self.fields[name].label},
                )
        if has_text:
            if not (cleaned.get("title") or "").strip() and not (cleaned.get("body") or "").strip():
                self.add_error("body", _("Text: this layout needs a title or a text."))
            if not (cleaned.get("button_1_label") or "").strip():
                self.add_error(
                    "button_1_label", _("Button 1 label: this layout needs one or two buttons.")
                )
            for name in ("title", "body", "button_1_label", "button_2_label"):
                self._check_tokens(name, cleaned.get(name) or "")
        if has_image and not cleaned.get("image_name"):
            self.add_error("image_file", _("Image: this layout needs an image; upload one."))
        for index in range(1, MAX_BUTTONS + 1):
            if has_text and (cleaned.get(f"button_{index}_label") or "").strip():
                self._check_tap(f"button_{index}", cleaned, TapAction.DISMISS)
        for target, _label in TAP_TARGETS:
            if target == "image" and not has_image:
                cleaned["image_android_action"] = cleaned["image_ios_action"] = TapAction.NONE
                continue
            self._check_tap(target, cleaned, TapAction.NONE)
        return cleaned

    # Output ----------------------------------------------------------------------------

    def service_fields(self) -> dict[str, Any]:
        """The cleaned message as the services take it (flat fields + JSON buttons/taps)."""
        data = self.cleaned_data
        _family, has_image, has_text = LAYOUTS[data["layout"]]
        buttons = []
        if has_text:
            for index in range(1, MAX_BUTTONS + 1):
                label = (data.get(f"button_{index}_label") or "").strip()
                if label:
                    buttons.append(
                        {"label": label, **self._tap_value(f"button_{index}", data, "dismiss")}
                    )
        return {
            "name": data["name"],
            "layout": data["layout"],
            "title": data.get("title", "") if has_text else "",
            "body": data.get("body", "") if has_text else "",
            "image": data.get("image_name", "") if has_image else "",
            "buttons": buttons,
            "tap_actions": {t: self._tap_value(t, data, "none") for t, _label in TAP_TARGETS},
            "close_button": bool(data.get("close_button")),
            **{name: data[name].lower() for name in DEFAULT_COLORS},
        }

    @staticmethod
    def _tap_value(prefix: str, data: dict[str, Any], default: str) -> dict[str, dict[str, str]]:
        return {
            p: {"action": data.get(a) or default, "uri": data.get(u) or ""}
            for p, a, u in _tap_field_names(prefix)
        }


def form_initial_from_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The form's initial data from the services' field dict (the reverse of service_fields)."""
    initial = {
        key: fields.get(key, "") for key in ("name", "layout", "title", "body", "close_button")
    }
    initial["image_name"] = fields.get("image") or ""
    initial.update({name: fields.get(name) or color for name, color in DEFAULT_COLORS.items()})
    for index, button in enumerate(fields.get("buttons") or [], start=1):
        initial[f"button_{index}_label"] = button.get("label", "")
        initial.update(_tap_initial(f"button_{index}", button, "dismiss"))
    for target, _label in TAP_TARGETS:
        taps = (fields.get("tap_actions") or {}).get(target) or {}
        initial.update(_tap_initial(target, taps, "none"))
    return initial


def _tap_initial(prefix: str, value: dict[str, Any], default: str) -> dict[str, str]:
    out = {}
    for platform, action_name, uri_name in _tap_field_names(prefix):
        per_platform = value.get(platform) or {}
        out[action_name] = per_platform.get("action") or default
        out[uri_name] = per_platform.get("uri") or ""
    return out


def content_from_post(data: Any, *, image_url: str) -> InAppContent:
    """A preview's content straight from the posted form (drawn even while it has errors)."""
    layout = data.get("layout") or "popup_text"
    if layout not in LAYOUTS:
        layout = "popup_text"
    buttons = []
    for index in range(1, MAX_BUTTONS + 1):
        label = (data.get(f"button_{index}_label") or "").strip()
        if label:
            buttons.append(
                InAppButton(
                    label=label,
                    android_action=data.get(f"button_{index}_android_action") or "dismiss",
                    android_uri=data.get(f"button_{index}_android_uri") or "",
                    ios_action=data.get(f"button_{index}_ios_action") or "dismiss",
                    ios_uri=data.get(f"button_{index}_ios_uri") or "",
                )
            )
    colors = {
        name: value if COLOR_RE.match(value := data.get(name) or "") else default
        for name, default in DEFAULT_COLORS.items()
    }
    return InAppContent(
        layout=layout,
        title=data.get("title") or "",
        body=data.get("body") or "",
        image_url=image_url,
        buttons=tuple(buttons),
        close_button=data.get("close_button") in ("on", "1", "true", True),
        background_color=colors["background_color"],
        text_color=colors["text_color"],
        button_color=colors["button_color"],
        button_text_color=colors["button_text_color"],
    )


def content_from_fields(fields: dict[str, Any]) -> InAppContent:
    """A preview's content from the services' field dict (a stored message)."""
    initial = form_initial_from_fields(fields)
    initial["close_button"] = "on" if fields.get("close_button") else ""
    return content_from_post(initial, image_url=image_absolute_url(fields.get("image_name") or ""))
