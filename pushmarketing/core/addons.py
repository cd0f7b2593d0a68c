"""The add-on entitlements (Mobile Push, In-app messages): read fresh from the database
wherever it matters (the UI gate, the management API and the worker at send time).

The SDK's in-app answer is asked on every app open, so it reads the switch through the cache
(`addon_enabled_cached`); a switch deletes that key after its transaction commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import AddOn, AuditEntry

ADDON_DISABLED_MESSAGE = "The Mobile Push add-on is not enabled — ask an admin to enable it."
IN_APP_ADDON_DISABLED_MESSAGE = (
    "The In-app messages add-on is not enabled — ask an admin to enable it."
)
ADDON_NAMES: dict[str, str] = {
    AddOn.Code.MOBILE_PUSH: "Mobile Push",
    AddOn.Code.IN_APP_MESSAGES: "In-app messages",
}
ADDON_CACHE_KEY = "addon-enabled:{code}"
ADDON_CACHE_SECONDS = 300


def addon_enabled(code: str) -> bool:
    return AddOn.objects.filter(code=code, enabled=True).exists()


def mobile_push_enabled() -> bool:
    return addon_enabled(AddOn.Code.MOBILE_PUSH)


def in_app_messages_enabled() -> bool:
    return addon_enabled(AddOn.Code.IN_APP_MESSAGES)


def addon_cache_key(code: str) -> str:
    return ADDON_CACHE_KEY.format(code=code)


def addon_enabled_cached(code: str) -> bool:
    """The switch through the cache (hot SDK paths): deleted when it moves, and kept five
    minutes at most in case a delete was lost (a cache server restarted mid-switch)."""
    key = addon_cache_key(code)
    cached = cache.get(key)
    if cached is None:
        cached = addon_enabled(code)
        cache.set(key, cached, ADDON_CACHE_SECONDS)
    return bool(cached)


@dataclass(frozen=True)
class AddOnStatus:
    enabled: bool
    changed_at: dt.datetime | None
    # Who turned it on or off: a username, "the demo seed", or "" when never changed.
    changed_by: str


@transaction.atomic
def addon_set_enabled(
    *,
    enabled: bool,
    actor: User | None,
    source: str = "",
    code: str = AddOn.Code.MOBILE_PUSH,
) -> AddOn:
    """Turn an add-on on or off. `source` names who did it when no user did (a command:
    "the demo seed"); it is kept in the audit entry, which Settings reads back."""
    addon, _ = AddOn.objects.select_for_update().get_or_create(code=code)
    if addon.enabled != enabled:
        addon.enabled = enabled
        addon.changed_by = actor
        addon.changed_at = timezone.now()
        addon.save(update_fields=["enabled", "changed_by", "changed_at"])
        by = f" by {source}" if source and actor is None else ""
        # English in the audit log whatever language the admin's UI is in.
        label = ADDON_NAMES.get(code, code)
        audit_record(
            actor=actor,
            action="addon.enabled" if enabled else "addon.disabled",
            target=addon,
            summary=f"{label} add-on turned {'on' if enabled else 'off'}{by}",
            details={"source": source} if source else None,
        )
        # Now and after commit: a read in between may cache the old value again.
        key = addon_cache_key(code)
        cache.delete(key)
        transaction.on_commit(lambda: cache.delete(key))
    return addon


def addon_status(code: str = AddOn.Code.MOBILE_PUSH) -> AddOnStatus:
    """An add-on's switch and who last moved it (two queries)."""
    addon = AddOn.objects.select_related("changed_by").filter(code=code).first()
    if addon is None:
        return AddOnStatus(enabled=False, changed_at=None, changed_by="")
    if addon.changed_by is not None:
        return AddOnStatus(addon.enabled, addon.changed_at, addon.changed_by.get_username())
    last = (
        AuditEntry.objects.filter(
            target_type=addon._meta.label_lower,
            target_id=str(addon.pk),
            action__in=("addon.enabled", "addon.disabled"),
        )
        .values_list("details", flat=True)
        .first()
    )
    source = (last or {}).get("source", "")
    if not source and addon.changed_at is not None:
        source = "a deleted user"
    return AddOnStatus(addon.enabled, addon.changed_at, source)
