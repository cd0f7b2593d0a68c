"""What a push says, frozen: the value campaigns and the send path work from.

`PushContent` is built from a notification's working copy (for previews and sample sends of
a draft) or from its `approved_content` (for campaigns). It is plain data so it travels into
worker processes and JSON without touching the ORM."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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
