"""The per-app snapshot of live in-app campaigns (inapp.selectors.live) lives in the
shared cache; every write that changes what a phone may be shown deletes it after commit."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

LIVE_CAMPAIGNS_CACHE_KEY = "inapp-live:{app_id}"
# The snapshot's version alone: processes keep the snapshot they last read and fetch it again
# only when this changes (unpickling 20 campaigns on every call cost more than the SQL).
LIVE_VERSION_CACHE_KEY = "inapp-live-version:{app_id}"


def live_campaigns_cache_key(app_id: int) -> str:
    return LIVE_CAMPAIGNS_CACHE_KEY.format(app_id=app_id)


def live_version_cache_key(app_id: int) -> str:
    return LIVE_VERSION_CACHE_KEY.format(app_id=app_id)


def live_campaigns_evict(*, app_id: int) -> None:
    """Forget the app's snapshot now and again once the transaction commits: a phone's read
    in between caches the old rows again, and only the second delete clears those."""
    keys = [live_version_cache_key(app_id), live_campaigns_cache_key(app_id)]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
