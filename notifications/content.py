"""What a push says, frozen: the value campaigns and the send path work from.

`PushContent` is built from a notification's working copy (for previews and sample sends of
a draft) or from its `approved_content` (for campaigns). It is plain data so it travels into
worker processes and JSON without touching the ORM.

`LocalizedContent` is a push with its translations: the default content plus, per locale code,
the full content a device of that language is sent (notifications.locales chooses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

CONTENT_FIELDS = (
    "android_enabled",
    "ios_enabled",
    "title",
    "subtitle",
    "message",
    "image_url",
    "tap_action",
    "tap_uri",
    "ios_sound",
    "android_sound",
    "badge",
    "custom_data",
    "ttl_seconds",
    "priority",
    "collapse_key",
    "android_channel_id",
)
# The content fields stored as PushNotification columns of the same name (the image is a
# file column whose URL becomes `image_url`).
COLUMN_FIELDS = tuple(name for name in CONTENT_FIELDS if name != "image_url")


@dataclass(frozen=True)
class PushContent:
    message: str
    android_enabled: bool = True
    ios_enabled: bool = True
    title: str = ""
    subtitle: str = ""
    image_url: str = ""
    tap_action: str = "app_home"
    tap_uri: str = ""
    ios_sound: bool = True
    android_sound: str = "default"
    badge: int | None = None
    custom_data: dict[str, str] = field(default_factory=dict)
    ttl_seconds: int = 4 * 7 * 24 * 3600
    priority: str = "high"
    collapse_key: str = ""
    android_channel_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PushContent:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def platform_enabled(self, platform: str) -> bool:
        return self.ios_enabled if platform == "ios" else self.android_enabled


@dataclass(frozen=True)
class RenderedText:
    """The personalised strings for one lead."""

    title: str
    subtitle: str
    body: str
    tap_uri: str


# A snapshot (approved_content, a run's content) keeps its translations under this key:
# {"fr": {"title": …, "subtitle": …, "message": …, "image_url": …, "tap_uri": …}, …}.
# Absent when a push has none, so pushes approved before translations existed compare equal.
TRANSLATIONS_KEY = "translations"
TRANSLATED_FIELDS = ("title", "subtitle", "message", "image_url", "tap_uri")


def translation_merge(default: PushContent, translated: Mapping[str, str]) -> PushContent:
    """The whole content a device in this translation's language is sent. A blank image or
    link keeps the default's (a French push usually shows the same picture and opens the same
    screen); a blank title or subtitle means none, not the default's English one."""
    return replace(
        default,
        title=translated.get("title", ""),
        subtitle=translated.get("subtitle", ""),
        message=translated.get("message", ""),
        image_url=translated.get("image_url") or default.image_url,
        tap_uri=translated.get("tap_uri") or default.tap_uri,
    )


@dataclass(frozen=True)
class LocalizedContent:
    default: PushContent
    translations: dict[str, PushContent] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalizedContent:
        """From a snapshot: the default's fields plus the optional TRANSLATIONS_KEY."""
        default = PushContent.from_dict(dict(data))
        translated: Mapping[str, Mapping[str, str]] = data.get(TRANSLATIONS_KEY) or {}
        return cls(
            default=default,
            translations={
                code: translation_merge(default, fields) for code, fields in translated.items()
            },
        )
