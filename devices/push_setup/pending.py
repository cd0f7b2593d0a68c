"""The "verification in progress" flag of an app's push credentials: set when an admin asks
for a check, cleared when the check (notifications.verification) has written its verdict,
and shown on the push set-up panel meanwhile. A short-lived cache entry, so a lost check
stops showing as pending on its own."""

from __future__ import annotations

from django.core.cache import cache

from devices.models import PushCredential

PENDING_SECONDS = 300


def _pending_key(credential_id: int) -> str:
    return f"pm:verify:pending:{credential_id}"


def verification_pending(credential: PushCredential) -> bool:
    return bool(cache.get(_pending_key(credential.id)))


def verification_pending_set(credential_id: int) -> None:
    cache.set(_pending_key(credential_id), 1, timeout=PENDING_SECONDS)


def verification_pending_clear(credential_id: int) -> None:
    cache.delete(_pending_key(credential_id))
