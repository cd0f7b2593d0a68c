"""Which activity kinds an app's active trigger campaigns listen for.

The SDK path hands new activities to trigger evaluation only when some active trigger
campaign of the app listens for one of their kinds. Publishing a Celery message costs about
0.65 ms of CPU per SDK call (the largest single cost measured by bench/register.py), a cache
read about 0.1 ms, and most apps have no trigger for most opens. Campaign services forget the
cached set whenever a trigger campaign starts or stops listening; the short TTL bounds how
long a missed invalidation could delay a trigger.

The PostgreSQL register statement does not read that cache: it asks the same question in SQL
(`listens_sql`) inside the statement it already sends, which costs no Redis round trip and is
never stale. Campaigns answers both questions through the hooks it registers at start-up
(devices.hooks): devices does not import campaigns."""

from __future__ import annotations

from django.core.cache import cache

from devices import hooks

CACHE_TTL_SECONDS = 30


def _key(app_id: int) -> str:
    return f"trigger-kinds:{app_id}"


def trigger_kinds_for(app_id: int) -> frozenset[str]:
    kinds = cache.get(_key(app_id))
    if kinds is None:
        kinds = sorted(hooks.trigger_kinds_lookup(app_id))
        cache.set(_key(app_id), kinds, CACHE_TTL_SECONDS)
    return frozenset(kinds)


def trigger_kinds_forget(app_id: int) -> None:
    cache.delete(_key(app_id))


def listens_sql(kind_column: str) -> str:
    """PostgreSQL: true when an active trigger campaign of the app (the one `%s`) listens for
    the activity kind in `kind_column` — the question trigger_kinds_for answers."""
    return hooks.listens_sql(kind_column)
