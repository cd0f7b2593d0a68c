"""Which activity kinds an app's active trigger campaigns listen for.

The SDK path hands new activities to trigger evaluation only when some active trigger
campaign of the app listens for one of their kinds. Publishing a Celery message costs about
0.65 ms of CPU per SDK call (the largest single cost measured by bench/register.py), a cache
read about 0.1 ms, and most apps have no trigger for most opens. Campaign services forget the
cached set whenever a trigger campaign starts or stops listening; the short TTL bounds how
long a missed invalidation could delay a trigger.

The PostgreSQL register statement does not read that cache: it asks the same question in SQL
(`listens_sql`) inside the statement it already sends, which costs no Redis round trip and is
never stale."""

from __future__ import annotations

from django.apps import apps
from django.core.cache import cache

CACHE_TTL_SECONDS = 30


def _key(app_id: int) -> str:
    return f"trigger-kinds:{app_id}"


def _campaign_model():  # noqa: ANN202 - looked up by name: devices does not import campaigns
    return apps.get_model("campaigns", "Campaign")


def trigger_kinds_for(app_id: int) -> frozenset[str]:
    kinds = cache.get(_key(app_id))
    if kinds is None:
        triggers = (
            _campaign_model()
            .objects.filter(app_id=app_id, kind="trigger", status="active")
            .values_list("trigger", flat=True)
        )
        kinds = sorted({t.get("event") for t in triggers if t and t.get("event")})
        cache.set(_key(app_id), kinds, CACHE_TTL_SECONDS)
    return frozenset(kinds)


def trigger_kinds_forget(app_id: int) -> None:
    cache.delete(_key(app_id))


def listens_sql(kind_column: str) -> str:
    """PostgreSQL: true when an active trigger campaign of the app (the one `%s`) listens for
    the activity kind in `kind_column` — the question trigger_kinds_for answers."""
    table = _campaign_model()._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {table} c WHERE c.app_id = %s AND c.kind = 'trigger' "
        f"AND c.status = 'active' AND c.trigger ->> 'event' = {kind_column})"
    )
