"""The per-app snapshot of live in-app campaigns (inapp.selectors.live_campaigns) lives in the
shared cache; every write that changes what a phone may be shown deletes it after commit."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

LIVE_CAMPAIGNS_CACHE_KEY = "inapp-live:{app_id}"


def live_campaigns_cache_key(app_id: int) -> str:
    return LIVE_CAMPAIGNS_CACHE_KEY.format(app_id=app_id)


def live_campaigns_evict(*, app_id: int) -> None:
    """Forget the app's snapshot now and again once the transaction commits: a phone's read
    in between caches the old rows again, and only the second delete clears those."""
    key = live_campaigns_cache_key(app_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
