"""Hooks through which campaigns (the layer above) answers questions notifications asks,
without notifications importing it. Campaigns registers them in CampaignsConfig.ready();
without campaigns nothing uses a push."""

from __future__ import annotations

from typing import Protocol

from notifications.models import PushNotification


class NotificationUsers(Protocol):
    """Names of what uses the push (campaigns, runs); [] when nothing does."""

    def __call__(self, notification: PushNotification) -> list[str]: ...


_notification_users: NotificationUsers | None = None


def notification_users_register(lookup: NotificationUsers) -> None:
    global _notification_users
    _notification_users = lookup


def notification_users(notification: PushNotification) -> list[str]:
    if _notification_users is None:
        return []
    return _notification_users(notification)


class ImageNames(Protocol):
    """The stored push images (`push-images/<hex>.<ext>`) a layer above still refers to."""

    def __call__(self) -> set[str]: ...


_image_users: list[ImageNames] = []


def image_users_register(lookup: ImageNames) -> None:
    if lookup not in _image_users:  # ready() can run twice in tests; one entry per lookup
        _image_users.append(lookup)


def image_names_in_use_above() -> set[str]:
    """Every image name the registered layers refer to (campaign runs, in-app messages)."""
    names: set[str] = set()
    for lookup in _image_users:
        names |= lookup()
    return names
