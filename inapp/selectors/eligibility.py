""" "What should I show now?": at most one message for one installation and trigger.

The app asks on every open, so the answer is built from:

1. the add-on switch and the app's live campaigns from the shared cache (one snapshot per app,
   deleted by every write that changes it: inapp.services.cache), filtered in Python by
   trigger and window;
2. one statement: the device, its lead, and one boolean per remaining campaign for its
   audience (each campaign's filter rows compiled into the SELECT list; activity filters are
   EXISTS subqueries on the device's indexed rows);
3. one indexed read of the device's display states for the campaigns it is in;
4. only when a candidate has a frequency cap: the device's latest impressions.

Then the first candidate by priority (ties: the most recently approved) whose display limit
and cap allow it is rendered for the device's lead and platform. No N+1: the statements do
not grow with the number of campaigns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import BooleanField, ExpressionWrapper, Value
from django.utils import timezone

from campaigns.audience import AudienceError, audience_q
from devices.lead_fields import lead_token_values
from devices.models import Device, MobileApp
from devices.services.rules import DeviceNotFound, StaleCredentials
from inapp.content import message_compiled
from inapp.models import InAppCampaign, InAppDisplayState, InAppEvent
from inapp.services.cache import live_campaigns_cache_key
from pushmarketing.core.addons import addon_enabled_cached
from pushmarketing.core.models import AddOn

LIVE_CAMPAIGNS_CACHE_SECONDS = 300
Limit = InAppCampaign.DisplayLimit


class Reason:
    """Why nothing is shown (the answer's `reason`, for the SDK's debug log)."""

    ADDON_DISABLED = "addon_disabled"
    NEVER_OPENED = "never_opened"
    FIRST_OPEN = "first_open"
    NOTHING_ELIGIBLE = "nothing_eligible"


@dataclass(frozen=True)
class LiveCampaign:
    """A live campaign and its message's approved copy, as cached per app."""

    id: int
    name: str
    message_id: int
    priority: int
    approved_at: dt.datetime
    trigger: str
    action_name: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    display_limit: str
    cap_count: int | None
    cap_hours: int | None
    audience: list[dict[str, Any]]
    content: dict[str, Any]
    content_version: str

    def answers(self, *, trigger: str, action_name: str, now: dt.datetime) -> bool:
        if self.trigger != trigger:
            return False
        if (
            trigger == InAppCampaign.Trigger.CUSTOM_ACTION
            and self.action_name.casefold() != action_name.casefold()
        ):
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at


@dataclass(frozen=True)
class InAppAnswer:
    campaign_id: int | None = None
    message_id: int | None = None
    message: dict[str, Any] | None = None
    reason: str = ""
    # Campaigns considered (matching trigger and window), for tests and the debug log.
    candidates: tuple[int, ...] = field(default=(), compare=False)


def _load_live(app_id: int) -> list[LiveCampaign]:
    rows = (
        InAppCampaign.objects.filter(app_id=app_id, status=InAppCampaign.Status.LIVE)
        .select_related("message")
        .order_by("-priority", "-approved_at", "-id")
    )
    return [
        LiveCampaign(
            id=c.pk,
            name=c.name,
            message_id=c.message_id,
            priority=c.priority,
            approved_at=c.approved_at or c.created_at,
            trigger=c.trigger,
            action_name=c.trigger_action_name,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            display_limit=c.display_limit,
            cap_count=c.frequency_cap_count,
            cap_hours=c.frequency_cap_hours,
            audience=list(c.audience or []),
            content=dict(c.message.approved_content or {}),
            content_version=(c.message.approved_at or c.created_at).isoformat(),
        )
        for c in rows
        # A live campaign's message was approved when it went live; never show a draft.
        if c.message.approved_content is not None
    ]


def live_campaigns(*, app_id: int) -> list[LiveCampaign]:
    """The app's live campaigns, best first, from the cache (or loaded and cached)."""
    key = live_campaigns_cache_key(app_id)
    cached = cache.get(key)
    if cached is None:
        cached = _load_live(app_id)
        cache.set(key, cached, LIVE_CAMPAIGNS_CACHE_SECONDS)
    return list(cached)


def _audience_expression(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return Value(True)
    try:
        return ExpressionWrapper(audience_q(rows), output_field=BooleanField())
    except AudienceError:
        # Validated when saved; a rule that no longer validates (a filter retired since)
        # matches nobody rather than everybody.
        return Value(False)


def _device_with_audiences(
    *,
    app_id: int,
    installation_id: str,
    secret_hash: str | None,
    candidates: list[LiveCampaign],
) -> tuple[Device, set[int]]:
    annotations = {f"in_{c.id}": _audience_expression(c.audience) for c in candidates}
    devices = Device.objects.select_related("lead").filter(
        app_id=app_id, installation_id=installation_id
    )
    if secret_hash is not None:
        # The SDK's app lookup is cached per process; the secret is re-checked here, in the
        # same statement, so a rotated secret stops reading at once.
        devices = devices.filter(app__sdk_secret_hash=secret_hash)
    device = devices.annotate(**annotations).first()
    if device is None:
        if (
            secret_hash is not None
            and not MobileApp.objects.filter(pk=app_id, sdk_secret_hash=secret_hash).exists()
        ):
            raise StaleCredentials(app_id)
        raise DeviceNotFound(installation_id)
    return device, {c.id for c in candidates if getattr(device, f"in_{c.id}")}


def _display_allowed(
    campaign: LiveCampaign, state: InAppDisplayState | None, device: Device
) -> bool:
    if state is None or campaign.display_limit == Limit.EVERY_TIME:
        return True
    if campaign.display_limit == Limit.UNTIL_TAPPED:
        return state.tapped_at is None
    # Once per session: a session starts with each app open (the SDK's register call sets
    # last_opened_at), so an impression since then means this session already saw it.
    last_open = device.last_opened_at
    return state.last_impression_at is None or (
        last_open is not None and state.last_impression_at < last_open
    )


def _recent_impressions(
    device_id: int, candidates: list[LiveCampaign], now: dt.datetime
) -> list[dt.datetime]:
    """The device's latest impressions, as many as the largest cap needs: a cap of N in H
    hours is reached exactly when the N-th latest impression is within H hours."""
    capped = [c for c in candidates if c.cap_count and c.cap_hours]
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
    if not addon_enabled_cached(AddOn.Code.IN_APP_MESSAGES):
        return InAppAnswer(reason=Reason.ADDON_DISABLED)
    candidates = [
        c
        for c in live_campaigns(app_id=app_id)
        if c.answers(trigger=trigger, action_name=action_name, now=now)
    ]
    device, members = _device_with_audiences(
        app_id=app_id,
        installation_id=installation_id,
        secret_hash=secret_hash,
        candidates=candidates,
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
    eligible = [c for c in candidates if c.id in members]
    if not eligible:
        return InAppAnswer(reason=Reason.NOTHING_ELIGIBLE, candidates=ids)
    states = {
        s.campaign_id: s
        for s in InAppDisplayState.objects.filter(
            device_id=device.pk, campaign_id__in=[c.id for c in eligible]
        )
    }
    impressions = _recent_impressions(device.pk, eligible, now)
    for campaign in eligible:
        if _display_allowed(campaign, states.get(campaign.id), device) and not _capped(
            campaign, impressions, now
        ):
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
