"""Fixed-window rate limits shared by every process: the SDK's per-app limit, the management
API's per-token limit and the SDK's failed-authentication limit count here.

The count must be atomic, or concurrent requests lose increments and a limit leaks: Django's
file cache does `incr` as read-then-write, and DRF's SimpleRateThrottle keeps a list of
timestamps the same way, so on the embedded default 16 concurrent clients pushed 3,400 calls
through a 3,000/min limit and 700 of 700 through 600/min. So the count is one atomic step on
both backends: Redis INCRBY where the cache is Redis, else one `INSERT … ON CONFLICT DO UPDATE
… RETURNING` on a row of `RateCounter` (SQLite serializes it under its write lock, PostgreSQL
under the row lock).

Counting each request in Redis cost a round trip per SDK call: 0.2 ms of a gunicorn
worker's CPU, the largest single cost left on the register path (bench/register.py). So a
process claims hits in leases: one claim takes up to 1% of the limit (at most 25), and
the process spends the lease locally before it claims again. Nothing is ever admitted past
the limit — a claim that crosses it is granted only what is left — but near the end of a
busy window a call may be refused while other processes still hold a few unspent hits: at
most 1% of the limit per process. Limits under 100 claim one hit at a time.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from pushmarketing.core.models import RateCounter

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


def _upsert_sql() -> str:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    # A late claim for an earlier window (a request that began just before the boundary)
    # counts into the newer window rather than resetting it: it can only refuse early. Only
    # the model's own table name is formatted in; the values are parameters.
    return (
        f"INSERT INTO {table} (name, window_id, hits, expires_at) VALUES (%s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (name) DO UPDATE SET "
        f"hits = CASE WHEN {table}.window_id >= excluded.window_id "
        f"THEN {table}.hits + excluded.hits ELSE excluded.hits END, "
        f"window_id = CASE WHEN {table}.window_id >= excluded.window_id "
        f"THEN {table}.window_id ELSE excluded.window_id END, "
        f"expires_at = excluded.expires_at "
        f"RETURNING hits"
    )


def _add_hits_in_database(name: str, window: int, hits: int, *, ttl: int) -> int:
    now = int(time.time())
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [name, window, hits, now + ttl])
        return int(cursor.fetchone()[0])


def rate_counters_purge() -> int:
    """Delete the database counters whose window has passed: a handful of rows per app, token
    and failing client address, gone a window after their last use. The beat does it; a claim
    that did it now and then made a request's statement count a lottery."""
    deleted, _ = RateCounter.objects.filter(expires_at__lt=int(time.time())).delete()
    return deleted


def add_hits(name: str, window: int, hits: int, *, ttl: int) -> int:
    """Add `hits` to counter `name`'s count in `window` and return the count afterwards."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _redis_client(backend).pipeline(transaction=False)
        key = f"{name}:{window}"
        pipe.incrby(key, hits)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])
    return _add_hits_in_database(name, window, hits, ttl=ttl)


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
    `limit`. The shared count lives `ttl` seconds."""
    lease = (name, window)
    if _take_local(lease):
        return True
    size = lease_size(limit)
    count = add_hits(name, window, size, ttl=ttl)
    granted = max(0, min(size, limit - (count - size)))
    if granted > 1:
        _keep_local(lease, granted - 1)
    return granted > 0


def throttle_rate(scope: str) -> tuple[int | None, int]:
    """The (limit, period in seconds) of a DEFAULT_THROTTLE_RATES entry such as "3000/min"."""
    # The stubs type the rates as numbers; DRF's rates are strings.
    rate = cast(str | None, api_settings.DEFAULT_THROTTLE_RATES.get(scope))
    if not rate:
        return None, 60
    count, _, unit = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[0]]


class WindowThrottle(BaseThrottle):
    """A fixed one-window counter per `ident` (the `scope` rate), claimed in leases. Unlike
    DRF's SimpleRateThrottle it stores no request timestamps."""

    scope = ""

    def __init__(self) -> None:
        self.limit, self.period = throttle_rate(self.scope)
        self._wait = 0.0

    def ident(self, request: Request) -> str | None:
        """Whose budget the request spends; None: not throttled here."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.ident(request)
        if self.limit is None or ident is None:
            return True
        now = time.time()
        window = int(now // self.period)
        name = f"pm:throttle:{self.scope}:{ident}:{self.period}"
        if admit(name, window, limit=self.limit, ttl=self.period + 1):
            return True
        self._wait = (window + 1) * self.period - now
        return False

    def wait(self) -> float | None:
        return self._wait
