"""The composer form: parses and validates one push's working copy.

Every rule names the field it belongs to; the same form runs for a save and for each live
preview request, so the marketer sees an error under the field before pressing Save."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from devices.models import MobileApp
from notifications.content import COLUMN_FIELDS, PushContent
from notifications.images import (
    image_absolute_url,
    image_name_is_stored,
    image_store,
)
from notifications.models import PushNotification
from notifications.personalization import TokenError, compile_template
from notifications.previews import payload_sizes
from notifications.selectors import lead_token_field_names
from notifications.translations import (
    TRANSLATION_INPUTS,
    translation_rows_from,
    translation_rows_problems,
    translation_values,
)

MAX_TTL_SECONDS = 28 * 24 * 3600  # FCM's maximum (4 weeks); APNs has none, so one rule for both
MAX_BADGE = 99_999
MAX_COLLAPSE_KEY_BYTES = (
    64  # APNs apns-collapse-id limit; FCM's collapse_key is shorter in practice
)
MAX_CUSTOM_DATA_ROWS = 20
MAX_CUSTOM_KEY_CHARS = 64
# FCM rejects these data keys (reserved words and prefixes); APNs owns "aps"; pm_ is ours.
RESERVED_DATA_KEYS = {"from", "notification", "message_type", "collapse_key", "aps"}
RESERVED_DATA_PREFIXES = ("pm_", "google", "gcm")
CHANNEL_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
DEEP_LINK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
TOKEN_PLACEHOLDER = "x"  # noqa: S105 - a personalization token's stand-in text, not a secret
PLACEHOLDERS = {
    "name": _("e.g. Spring sale reminder"),
    "title": _("Optional, shown in bold"),
    "subtitle": _("Optional, iOS only"),
    # The token itself stays as it is typed in any language: only its default is an example.
    "message": _("Hi {{lead.First Name:default=there}}, …"),
    "tap_uri": _("myapp://offers or https://example.com/sale"),
    "badge": _("Empty = leave the badge alone"),
    "collapse_key": _("e.g. spring-sale"),
    "android_channel_id": _("e.g. marketing"),
}
PLACEHOLDER_IMAGE_NAME = "push-images/" + "0" * 32 + ".jpg"


def _without_tokens(text: str) -> str:
    """The URI with each token replaced by a plain value, for shape validation."""
    compiled = compile_template(text, require_default=False)
    return compiled.render({token.field: TOKEN_PLACEHOLDER for token in compiled.tokens})


class NotificationForm(forms.Form):
    name = forms.CharField(max_length=120, required=False, label=_("Name"))
    app = forms.ModelChoiceField(
        queryset=MobileApp.objects.order_by("name"), empty_label=None, label=_("App")
    )
    android_enabled = forms.BooleanField(required=False, initial=True, label=_("Android"))
    ios_enabled = forms.BooleanField(required=False, initial=True, label=_("iOS"))
    title = forms.CharField(max_length=200, required=False, label=_("Title"))
    subtitle = forms.CharField(max_length=200, required=False, label=_("Subtitle (iOS)"))
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("The message is required.")},
        label=_("Message"),
    )
    image_file = forms.FileField(required=False, label=_("Image"))
    image_name = forms.CharField(required=False, widget=forms.HiddenInput)
    tap_action = forms.ChoiceField(
        choices=PushNotification.TapAction.choices,
        initial=PushNotification.TapAction.APP_HOME,
        required=False,
        label=_("Tap action"),
    )
    tap_uri = forms.CharField(max_length=2000, required=False, label=_("Deep link / URL"))
    ios_sound = forms.BooleanField(required=False, initial=True, label=_("Play sound (iOS)"))
    android_sound = forms.ChoiceField(
        choices=PushNotification.AndroidSound.choices,
        initial=PushNotification.AndroidSound.DEFAULT,
        label=_("Sound (Android)"),
        required=False,
    )
    badge = forms.IntegerField(min_value=0, max_value=MAX_BADGE, required=False, label=_("Badge"))
    ttl_seconds = forms.IntegerField(
        min_value=0,
        max_value=MAX_TTL_SECONDS,
        initial=MAX_TTL_SECONDS,
        label=_("Time to live (s)"),
        required=False,
    )
    priority = forms.ChoiceField(
        choices=PushNotification.Priority.choices,
        initial=PushNotification.Priority.HIGH,
        required=False,
        label=_("Priority"),
    )
    collapse_key = forms.CharField(max_length=64, required=False, label=_("Collapse key"))
    android_channel_id = forms.CharField(max_length=100, required=False, label=_("Android channel"))

    def __init__(self, *args: Any, instance: PushNotification | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = _initial_from(instance)
        super().__init__(*args, **kwargs)
        self.custom_data_rows: list[tuple[str, str]] = self._custom_rows()
        self.translation_rows: list[dict[str, str]] = self._translation_rows()
        self._known_fields: list[str] | None = None
        if instance is not None and instance.approved_content is not None:
            # Campaigns for this app send the approved copy; moving it to another app would
            # send one app's push through another's credentials.
            self.fields["app"].disabled = True
        for name, placeholder in PLACEHOLDERS.items():
            self.fields[name].widget.attrs["placeholder"] = placeholder
        for name in ("title", "subtitle", "message", "tap_uri"):
            # The token picker inserts into the last focused of these.
            self.fields[name].widget.attrs["data-tokens"] = "1"

    @property
    def known_fields(self) -> list[str]:
        if self._known_fields is None:
            self._known_fields = lead_token_field_names()
        return self._known_fields

    def _custom_rows(self) -> list[tuple[str, str]]:
        if self.is_bound:
            keys = self.data.getlist("data_key") if hasattr(self.data, "getlist") else []
            values = self.data.getlist("data_value") if hasattr(self.data, "getlist") else []
            rows = list(zip(keys, values + [""] * (len(keys) - len(values)), strict=False))
            return [(k.strip(), v) for k, v in rows if k.strip() or v.strip()]
        data = self.initial.get("custom_data") or {}
        return [(str(k), str(v)) for k, v in data.items()]

    def _translation_rows(self) -> list[dict[str, str]]:
        if self.is_bound:
            return translation_rows_from(self.data)
        if self.instance is None or self.instance.pk is None:
            return []
        return [
            {"locale": t.locale, **translation_values(t)} for t in self.instance.translations.all()
        ]

    def _stored_translation_images(self) -> set[str]:
        if self.instance is None or self.instance.pk is None:
            return set()
        return {name for name in self.instance.translations.values_list("image", flat=True)}

    def _clean_translations(self) -> None:
        """Each row by the push's own rules, once the default content is valid: the rules
        (tap link shape, payload size) depend on it."""
        problems = translation_rows_problems(
            self.translation_rows,
            default=self.content(),
            known_fields=self.known_fields,
            stored_images=self._stored_translation_images(),
        )
        if problems:
            self.add_error("translations", problems)

    def service_translations(self) -> dict[str, dict[str, str]]:
        """The rows for notification_create / notification_update (validated by clean)."""
        return {
            row["locale"]: {name: row[name] for name in TRANSLATION_INPUTS if name != "locale"}
            for row in self.translation_rows
        }

    def _clean_tokens(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        try:
            compile_template(value, known_fields=self.known_fields)
        except TokenError as exc:
            raise ValidationError(str(exc), code="token") from exc
        return value

    def clean_title(self) -> str:
        return self._clean_tokens("title")

    def clean_subtitle(self) -> str:
        return self._clean_tokens("subtitle")

    def clean_message(self) -> str:
        value = self._clean_tokens("message")
        if not value.strip():
            raise ValidationError(_("The message is required."), code="required")
        return value

    def clean_tap_uri(self) -> str:
        return self._clean_tokens("tap_uri").strip()

    def clean_collapse_key(self) -> str:
        value = self.cleaned_data.get("collapse_key", "").strip()
        if len(value.encode()) > MAX_COLLAPSE_KEY_BYTES:
            raise ValidationError(
                gettext("The collapse key is %(size)s bytes; the limit is %(limit)s bytes.")
                % {"size": len(value.encode()), "limit": MAX_COLLAPSE_KEY_BYTES},
                code="max_bytes",
            )
        return value

    def clean_android_channel_id(self) -> str:
        value = self.cleaned_data.get("android_channel_id", "").strip()
        if value and not CHANNEL_ID_RE.match(value):
            raise ValidationError(
                _(
                    "Use letters, digits, '_', '-' or '.' only (the id your app created the "
                    "channel with)."
                ),
                code="format",
            )
        return value

    def clean_image_name(self) -> str:
        value = self.cleaned_data.get("image_name", "").strip()
        current = self.instance.image.name if self.instance and self.instance.image else ""
        if value and value != current and not image_name_is_stored(value):
            raise ValidationError(_("The uploaded image was not found; upload it again."))
        return value

    def _clean_tap(self, cleaned: dict[str, Any]) -> None:
        action = cleaned.get("tap_action") or PushNotification.TapAction.APP_HOME
        cleaned["tap_action"] = action
        uri = cleaned.get("tap_uri", "")
        if "tap_uri" not in cleaned:
            return  # already has a token error
        if action == PushNotification.TapAction.APP_HOME:
            cleaned["tap_uri"] = ""
            return
        if not uri:
            self.add_error("tap_uri", _("Enter the deep link or URL the push opens."))
            return
        plain = _without_tokens(uri)
        if action == PushNotification.TapAction.DEEP_LINK and not DEEP_LINK_RE.match(plain):
            self.add_error(
                "tap_uri", _("A deep link looks like myapp://path (a scheme, ':' and no spaces).")
            )
        elif action == PushNotification.TapAction.URL:
            try:
                URLValidator(schemes=["http", "https"])(plain)
            except ValidationError:
                self.add_error("tap_uri", _("Enter a full web address starting with https://."))

    def _clean_custom_data(self) -> dict[str, str]:
        data: dict[str, str] = {}
        problems: list[str] = []
        if len(self.custom_data_rows) > MAX_CUSTOM_DATA_ROWS:
            problems.append(
                gettext("At most %(limit)s custom data rows.") % {"limit": MAX_CUSTOM_DATA_ROWS}
            )
        for key, value in self.custom_data_rows:
            lowered = key.lower()
            if not key:
                problems.append(
                    gettext("The value %(value)s needs a key.") % {"value": repr(value[:20])}
                )
            elif len(key) > MAX_CUSTOM_KEY_CHARS:
                problems.append(
                    gettext("Key %(key)s… is longer than %(limit)s characters.")
                    % {"key": repr(key[:20]), "limit": MAX_CUSTOM_KEY_CHARS}
                )
            elif lowered.startswith(RESERVED_DATA_PREFIXES) or lowered in RESERVED_DATA_KEYS:
                problems.append(
                    gettext(
                        "Key %(key)s is reserved (keys may not be %(reserved)s or start with pm_, "
                        "google or gcm)."
                    )
                    % {"key": repr(key), "reserved": ", ".join(sorted(RESERVED_DATA_KEYS))}
                )
            elif key in data:
                problems.append(gettext("Key %(key)s appears twice.") % {"key": repr(key)})
            else:
                data[key] = value
        if problems:
            self.add_error("custom_data", problems)
        return data

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        cleaned["custom_data"] = self._clean_custom_data()
        if not cleaned.get("android_enabled") and not cleaned.get("ios_enabled"):
            self.add_error(None, _("Enable Android, iOS or both."))
        self._clean_tap(cleaned)
        if not self.errors:
            sizes = payload_sizes(self.content(), topic=self._topic())
            for problem in sizes.problems():
                self.add_error(None, problem)
        if not self.errors:
            self._clean_translations()
        if not self.errors and cleaned.get("image_file"):
            try:
                cleaned["image_name"] = image_store(data=cleaned["image_file"].read())
            except ValidationError as exc:
                self.add_error("image_file", exc)
        return cleaned

    def add_error(self, field: str | None, error: Any) -> None:
        if field in ("custom_data", "translations") and field not in self.fields:
            # Custom data and translations are posted as rows, not as one form field.
            # Only called while cleaning, so `errors` is the ErrorDict being filled.
            self.errors.setdefault(field, self.error_class()).extend(
                error if isinstance(error, list) else [error]
            )
            return
        super().add_error(field, error)

    def _topic(self) -> str:
        app = self.cleaned_data.get("app") if hasattr(self, "cleaned_data") else None
        return app.ios_bundle_id if app else ""

    def content(self) -> PushContent:
        """The validated form as PushContent (the image as its absolute URL)."""
        cleaned = self.cleaned_data
        image_name = cleaned.get("image_name", "")
        if cleaned.get("image_file"):
            image_name = PLACEHOLDER_IMAGE_NAME  # same length as the name it will be stored as
        return PushContent(
            message=cleaned.get("message", ""),
            android_enabled=bool(cleaned.get("android_enabled")),
            ios_enabled=bool(cleaned.get("ios_enabled")),
            title=cleaned.get("title", ""),
            subtitle=cleaned.get("subtitle", ""),
            image_url=image_absolute_url(image_name),
            tap_action=cleaned.get("tap_action") or "app_home",
            tap_uri=cleaned.get("tap_uri", ""),
            ios_sound=bool(cleaned.get("ios_sound")),
            android_sound=cleaned.get("android_sound") or "default",
            badge=cleaned.get("badge"),
            custom_data=cleaned.get("custom_data", {}),
            ttl_seconds=MAX_TTL_SECONDS
            if cleaned.get("ttl_seconds") is None
            else cleaned["ttl_seconds"],
            priority=cleaned.get("priority") or "high",
            collapse_key=cleaned.get("collapse_key", ""),
            android_channel_id=cleaned.get("android_channel_id", ""),
        )

    def service_fields(self) -> dict[str, Any]:
        """The working-copy columns for notification_create / notification_update."""
        cleaned = self.cleaned_data
        content = self.content()
        fields = {name: getattr(content, name) for name in COLUMN_FIELDS}
        fields["name"] = cleaned.get("name", "").strip()
        fields["app"] = cleaned["app"]
        fields["image"] = cleaned.get("image_name", "")
        return fields


def _initial_from(notification: PushNotification) -> dict[str, Any]:
    initial = {name: getattr(notification, name) for name in ("name", *COLUMN_FIELDS)}
    initial["app"] = notification.app_id
    initial["custom_data"] = notification.custom_data or {}
    initial["image_name"] = notification.image.name if notification.image else ""
    return initial


def preview_content(data: Any, *, image_url: str) -> PushContent:
    """A forgiving PushContent from raw form data, for previews of a half-typed form:
    bad numbers fall back to defaults instead of stopping the preview."""

    def flag(name: str) -> bool:
        return str(data.get(name, "")).lower() in {"on", "true", "1", "yes"}

    def number(name: str) -> int | None:
        try:
            return max(0, int(str(data.get(name, "")).strip()))
        except ValueError:
            return None

    keys = data.getlist("data_key") if hasattr(data, "getlist") else []
    values = data.getlist("data_value") if hasattr(data, "getlist") else []
    custom = {k.strip(): v for k, v in zip(keys, values, strict=False) if k.strip()}
    tap_action = data.get("tap_action") or "app_home"
    if tap_action not in PushNotification.TapAction.values:
        tap_action = "app_home"
    ttl = number("ttl_seconds")
    return PushContent(
        message=data.get("message", ""),
        android_enabled=flag("android_enabled"),
        ios_enabled=flag("ios_enabled"),
        title=data.get("title", ""),
        subtitle=data.get("subtitle", ""),
        image_url=image_url,
        tap_action=tap_action,
        tap_uri=data.get("tap_uri", "") if tap_action != "app_home" else "",
        ios_sound=flag("ios_sound"),
        android_sound="none" if data.get("android_sound") == "none" else "default",
        badge=number("badge"),
        custom_data=custom,
        ttl_seconds=MAX_TTL_SECONDS if ttl is None else min(ttl, MAX_TTL_SECONDS),
        priority="normal" if data.get("priority") == "normal" else "high",
        collapse_key=data.get("collapse_key", "")[:64],
        android_channel_id=data.get("android_channel_id", ""),
    )
