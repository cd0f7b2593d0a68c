""" "What should I show now?": at most one message for one installation and trigger.

The app asks on every open, so the answer is built from:

1. the add-on switch and the app's live campaigns from the shared cache, in one round trip
   (inapp.selectors.live), filtered in Python by trigger and window;
2. one statement, compiled once per process and snapshot (inapp.selectors.device_read): the
   device, its lead, and per remaining campaign its audience as a boolean and the display
   state its limit needs;
3. only when an eligible campaign has a frequency cap: the device's latest impressions.

Then the first campaign by priority (ties: the most recently approved) whose display limit
and cap allow it is rendered for the device's lead and platform. The statements do not grow
in number with the campaigns (no N+1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from devices.lead_fields import lead_token_values
from devices.models import MobileApp
from devices.services.rules import DeviceNotFound, StaleCredentials
from inapp.content import message_compiled
from inapp.models import InAppCampaign, InAppEvent
from inapp.selectors.device_read import DeviceView, device_read
from inapp.selectors.live import LiveCampaign, inapp_addon_and_snapshot

Limit = InAppCampaign.DisplayLimit


class Reason:
    """Why nothing is shown (the answer's `reason`, for the SDK's debug log)."""

    ADDON_DISABLED = "addon_disabled"
    NEVER_OPENED = "never_opened"
    FIRST_OPEN = "first_open"
    NOTHING_ELIGIBLE = "nothing_eligible"


@dataclass(frozen=True)
class InAppAnswer:
    campaign_id: int | None = None
    message_id: int | None = None
    message: dict[str, Any] | None = None
    reason: str = ""
    # Campaigns considered (matching trigger and window), for tests and the debug log.
    candidates: tuple[int, ...] = field(default=(), compare=False)


def _display_allowed(campaign: LiveCampaign, device: DeviceView) -> bool:
    if campaign.display_limit == Limit.EVERY_TIME:
        return True
    if campaign.display_limit == Limit.UNTIL_TAPPED:
        return campaign.id not in device.tapped
    # Once per session: a session starts with each app open (the SDK's register call sets
    # last_opened_at), so an impression since then means this session already saw it.
    seen = device.last_impression.get(campaign.id)
    return seen is None or (device.last_opened_at is not None and seen < device.last_opened_at)


def _recent_impressions(
    device_id: int, campaigns: list[LiveCampaign], now: dt.datetime
) -> list[dt.datetime]:
    """The device's latest impressions, as many as the largest cap needs: a cap of N in H
    hours is reached exactly when the N-th latest impression is within H hours."""
    capped = [c for c in campaigns if c.capped]
    if not capped:
        return []
    since = now - dt.timedelta(hours=max(c.cap_hours or 0 for c in capped))
    most = max(c.cap_count or 0 for c in capped)
    return list(
        InAppEvent.objects.filter(
            device_id=device_id, kind=InAppEvent.Kind.IMPRESSION, occurred_at__gte=since
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[:most]
    )


def _capped(campaign: LiveCampaign, impressions: list[dt.datetime], now: dt.datetime) -> bool:
    if not campaign.cap_count or not campaign.cap_hours:
        return False
    since = now - dt.timedelta(hours=campaign.cap_hours)
    return sum(1 for at in impressions if at >= since) >= campaign.cap_count


def _device(
    candidates: list[LiveCampaign],
    *,
    app_id: int,
    version: str,
    installation_id: str,
    secret_hash: str | None,
) -> DeviceView:
    device = device_read(
        candidates,
        app_id=app_id,
        version=version,
        installation_id=installation_id,
        secret_hash=secret_hash,
    )
    if device is None:
        if (
            secret_hash is not None
            and not MobileApp.objects.filter(pk=app_id, sdk_secret_hash=secret_hash).exists()
        ):
            raise StaleCredentials(app_id)
        raise DeviceNotFound(installation_id)
    return device


def inapp_message_for_device(
    *,
    app_id: int,
    installation_id: str,
    trigger: str,
    action_name: str = "",
    secret_hash: str | None = None,
    now: dt.datetime | None = None,
) -> InAppAnswer:
    """The one message to show now, rendered, or an empty answer with the reason.
    DeviceNotFound when the installation is not this app's (the SDK API answers 404);
    StaleCredentials when `secret_hash` (the caller's, possibly cached) is no longer the app's."""
    now = now or timezone.now()
    enabled, snapshot = inapp_addon_and_snapshot(app_id=app_id)
    if not enabled or snapshot is None:
        return InAppAnswer(reason=Reason.ADDON_DISABLED)
    candidates = [
        c
        for c in snapshot.campaigns
        if c.answers(trigger=trigger, action_name=action_name, now=now)
    ]
    device = _device(
        candidates,
        app_id=app_id,
        version=snapshot.version,
        installation_id=installation_id,
        secret_hash=secret_hash,
    )
    ids = tuple(c.id for c in candidates)
    if device.first_opened_at is None:
        return InAppAnswer(reason=Reason.NEVER_OPENED, candidates=ids)
    if (
        trigger == InAppCampaign.Trigger.APP_OPEN
        and device.last_opened_at == device.first_opened_at
    ):
        # Marketo: App Open fires from the second open; the first is the SDK initialising.
        return InAppAnswer(reason=Reason.FIRST_OPEN, candidates=ids)
    eligible = [c for c in candidates if c.id in device.members and _display_allowed(c, device)]
    # Only capped campaigns ahead of the first uncapped one can change the choice.
    ahead: list[LiveCampaign] = []
    for campaign in eligible:
        if not campaign.capped:
            break
        ahead.append(campaign)
    impressions = _recent_impressions(device.id, ahead, now)
    for campaign in eligible:
        if _capped(campaign, impressions, now):
            continue
        compiled = message_compiled(
            message_id=campaign.message_id,
            approved_at_iso=campaign.content_version,
            content=campaign.content,
        )
        return InAppAnswer(
            campaign_id=campaign.id,
            message_id=campaign.message_id,
            message=compiled.render(
                platform=device.platform, values=lead_token_values(device.lead)
            ),
            candidates=ids,
        )
    return InAppAnswer(reason=Reason.NOTHING_ELIGIBLE, candidates=ids)
