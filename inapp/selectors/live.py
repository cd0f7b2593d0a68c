"""Each app's live in-app campaigns, as the SDK path reads them: one snapshot per app in the
shared cache, deleted by every write that changes it (inapp.services.cache) and rebuilt by the
next read. The snapshot carries a version, so per-process compiled statements built for it
(inapp.selectors.device_read) are never used with another."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from inapp.models import InAppCampaign
from inapp.services.cache import live_campaigns_cache_key, live_version_cache_key
from pushmarketing.core.addons import addon_cache_key, addon_enabled_cached
from pushmarketing.core.models import AddOn

LIVE_CAMPAIGNS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class LiveCampaign:
    """A live campaign and its message's approved copy."""

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

    @property
    def capped(self) -> bool:
        return bool(self.cap_count and self.cap_hours)


@dataclass(frozen=True)
class LiveSnapshot:
    version: str
    campaigns: tuple[LiveCampaign, ...]


def _load(app_id: int) -> LiveSnapshot:
    rows = (
        InAppCampaign.objects.filter(app_id=app_id, status=InAppCampaign.Status.LIVE)
        .select_related("message")
        .order_by("-priority", "-approved_at", "-id")
    )
    campaigns = tuple(
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
    )
    return LiveSnapshot(version=uuid.uuid4().hex, campaigns=campaigns)


def _get_many(keys: list[str]) -> dict[str, Any]:
    """cache.get_many, without Django's RedisCache building a client object per call (a
    fifth of this endpoint's CPU): one client per cache handle, as the throttle keeps."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return cache.get_many(keys)
    client = getattr(backend, "_pm_inapp_client", None)
    if client is None:
        client = backend._cache.get_client()
        backend._pm_inapp_client = client  # type: ignore[attr-defined]
    values = client.mget([backend.make_and_validate_key(key) for key in keys])
    loads = backend._cache._serializer.loads  # type: ignore[attr-defined]  # Django's own decoding
    return {key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None}


# app id -> the snapshot this process read last (checked against the cached version).
_LOCAL: dict[int, LiveSnapshot] = {}


def live_snapshot(*, app_id: int) -> LiveSnapshot:
    """The app's live campaigns, best first (priority, then the most recently approved)."""
    snapshot = cache.get(live_campaigns_cache_key(app_id))
    if snapshot is None:
        snapshot = _load(app_id)
        # The snapshot before its version: a reader that sees the version finds the snapshot.
        cache.set(live_campaigns_cache_key(app_id), snapshot, LIVE_CAMPAIGNS_CACHE_SECONDS)
        cache.set(live_version_cache_key(app_id), snapshot.version, LIVE_CAMPAIGNS_CACHE_SECONDS)
    else:
        cache.add(live_version_cache_key(app_id), snapshot.version, LIVE_CAMPAIGNS_CACHE_SECONDS)
    _LOCAL[app_id] = snapshot
    return snapshot


def inapp_addon_and_snapshot(*, app_id: int) -> tuple[bool, LiveSnapshot | None]:
    """The add-on switch and, when it is on, the app's snapshot: one small cache read when
    this process already holds the current version (the SDK asks on every app open)."""
    addon_key = addon_cache_key(AddOn.Code.IN_APP_MESSAGES)
    version_key = live_version_cache_key(app_id)
    found = _get_many([addon_key, version_key])
    enabled = found.get(addon_key)
    if enabled is None:
        enabled = addon_enabled_cached(AddOn.Code.IN_APP_MESSAGES)
    if not enabled:
        return False, None
    local = _LOCAL.get(app_id)
    version = found.get(version_key)
    if local is not None and version is not None and local.version == version:
        return True, local
    return True, live_snapshot(app_id=app_id)
