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
