"""The SDK API's per-app throttle: a fixed window per app key (the `sdk_app` rate, e.g.
3000/min), counted in the shared cache (Redis in production) so every web process sees one
count.

Counting each request in Redis cost a round trip per SDK call: 0.2 ms of a gunicorn
worker's CPU, the largest single cost left on the register path (bench/register.py). So a
process claims hits in leases: one INCRBY claims up to 1% of the limit (at most 25), and
the process spends the lease locally before it claims again. Nothing is ever admitted past
the limit — a claim that crosses it is granted only what is left — but near the end of a
busy window a call may be refused while other processes still hold a few unspent hits: at
most 1% of the limit per process. Limits under 100 claim one hit at a time, exactly as
before.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from devices.authentication import SdkApp

LEASE_SHARE = 100  # a lease is at most 1/LEASE_SHARE of the limit...
LEASE_MAX = 25  # ...and at most this many hits

# (counter name, window) -> hits this process may still admit, for the current window only.
_leases: dict[tuple[str, int], int] = {}
_leases_lock = threading.Lock()


def throttle_leases_clear() -> None:
    with _leases_lock:
        _leases.clear()


def lease_size(limit: int) -> int:
    return max(1, min(LEASE_MAX, limit // LEASE_SHARE))


def _redis_client(backend: Any) -> Any:
    # Django's RedisCache builds a client object per call and its incr() costs two round
    # trips; keep one client per cache handle (handles are per thread) and claim with one
    # pipelined INCRBY + EXPIRE.
    client = getattr(backend, "_pm_throttle_client", None)
    if client is None:
        client = backend._cache.get_client(write=True)
        backend._pm_throttle_client = client
    return client


def _add_hits(key: str, hits: int, *, ttl: int) -> int:
    """Add `hits` to the shared count `key` and return the count afterwards."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _redis_client(backend).pipeline(transaction=False)
        pipe.incrby(key, hits)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])
    if backend.add(key, hits, timeout=ttl):
        return hits
    try:
        return backend.incr(key, hits)
    except ValueError:  # the window expired between add and incr
        backend.add(key, hits, timeout=ttl)
        return hits


def _take_local(lease: tuple[str, int]) -> bool:
    with _leases_lock:
        left = _leases.get(lease, 0)
        if left:
            _leases[lease] = left - 1
        return bool(left)


def _keep_local(lease: tuple[str, int], hits: int) -> None:
    with _leases_lock:
        window = lease[1]
        for stale in [held for held in _leases if held[1] != window]:
            del _leases[stale]  # earlier windows' leftovers are worth nothing now
        _leases[lease] = _leases.get(lease, 0) + hits


def admit(name: str, window: int, *, limit: int, ttl: int) -> bool:
    """Admit one call in counter `name`'s `window` if the window's count stays within
    `limit`. The shared count lives under `name:window` for `ttl` seconds."""
    lease = (name, window)
    if _take_local(lease):
        return True
    size = lease_size(limit)
    count = _add_hits(f"{name}:{window}", size, ttl=ttl)
    granted = max(0, min(size, limit - (count - size)))
    if granted > 1:
        _keep_local(lease, granted - 1)
    return granted > 0


class SdkAppThrottle(BaseThrottle):
    """Fixed one-window counter per app key (`sdk_app` rate), claimed in leases (see the
    module). Unlike DRF's SimpleRateThrottle it stores no request timestamps."""

    scope = "sdk_app"

    def __init__(self) -> None:
        # The stubs type the rates as numbers; DRF's rates are strings such as "3000/min".
        rate = cast(str | None, api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))
        self.limit, self.period = self._parse(rate)
        self._wait = 0.0

    @staticmethod
    def _parse(rate: str | None) -> tuple[int | None, int]:
        if not rate:
            return None, 60
        count, _, unit = rate.partition("/")
        period = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[0]]
        return int(count), period

    def allow_request(self, request: Request, view: Any) -> bool:
        app = request.auth
        if self.limit is None or not isinstance(app, SdkApp):
            return True
        now = time.time()
        window = int(now // self.period)
        name = f"pm:throttle:{self.scope}:{app.sdk_key}:{self.period}"
        if admit(name, window, limit=self.limit, ttl=self.period + 1):
            return True
        self._wait = (window + 1) * self.period - now
        return False

    def wait(self) -> float | None:
        return self._wait
