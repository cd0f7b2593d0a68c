"""Which activity kinds an app's active trigger campaigns listen for.

The SDK path hands new activities to trigger evaluation only when some active trigger
campaign of the app listens for one of their kinds. Publishing a Celery message costs about
0.65 ms of CPU per SDK call (the largest single cost measured by bench/register.py), a cache
read about 0.1 ms, and most apps have no trigger for most opens. Campaign services forget the
cached set whenever a trigger campaign starts or stops listening; the short TTL bounds how
long a missed invalidation could delay a trigger."""

from __future__ import annotations

from django.apps import apps
from django.core.cache import cache

CACHE_TTL_SECONDS = 30


def _key(app_id: int) -> str:
    return f"trigger-kinds:{app_id}"


def trigger_kinds_for(app_id: int) -> frozenset[str]:
    kinds = cache.get(_key(app_id))
    if kinds is None:
        # Looked up by name: the device registry does not import the campaigns app.
        campaign_model = apps.get_model("campaigns", "Campaign")
        triggers = campaign_model.objects.filter(
            app_id=app_id, kind="trigger", status="active"
        ).values_list("trigger", flat=True)
        kinds = sorted({t.get("event") for t in triggers if t and t.get("event")})
        cache.set(_key(app_id), kinds, CACHE_TTL_SECONDS)
    return frozenset(kinds)


def trigger_kinds_forget(app_id: int) -> None:
    cache.delete(_key(app_id))
