"""Token-bucket rate limits shared by every worker.

With REDIS_URL set, one bucket per key lives in Redis and is updated atomically by a Lua
script, so the quota holds across worker processes and machines. Without Redis (the embedded
default: one machine, SQLite, filesystem broker) each worker process keeps its own buckets:
the quota is then per process, which is acceptable for a single small worker and documented
in README.

A caller asks for n tokens and gets back how many it may use now and, when short, how long
until the next token; it re-queues the rest with `not_before` rather than sleeping, so a send
loop never blocks on a throttle.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.commands.core import Script

# KEYS[1] bucket; ARGV: rate (tokens/s), capacity, requested. Redis TIME keeps every client on
# one clock. State: tokens left and the time (µs) they were computed; expires when idle.
_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + (now - ts) / 1000000 * rate)
local granted = math.min(requested, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
local wait_ms = 0
if granted < requested then wait_ms = math.ceil((1 - (tokens - math.floor(tokens))) / rate * 1000) end
return {granted, wait_ms}
"""


@dataclass(frozen=True)
class Grant:
    granted: int
    # Seconds until at least one more token is available (0 when all were granted).
    wait_seconds: float


class _LocalBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, *, rate: float, capacity: float, requested: int) -> Grant:
        with self._lock:
            now = time.monotonic()
            tokens, ts = self._state.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - ts) * rate)
            granted = min(requested, math.floor(tokens))
            tokens -= granted
            self._state[key] = (tokens, now)
        wait = 0.0 if granted == requested else (1 - (tokens - math.floor(tokens))) / rate
        return Grant(granted=granted, wait_seconds=wait)


_local = _LocalBuckets()


@cache
def _redis_script() -> Script:

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(_LUA)


def rate_take(*, key: str, per_minute: int, requested: int) -> Grant:
    """Take up to `requested` tokens from the bucket `key` refilled at `per_minute`.

    Capacity is one second's worth (at least 1) so a burst never exceeds the per-second rate
    the provider enforces, e.g. FCM's 600k/min project quota is 10k/s."""
    if requested <= 0:
        return Grant(granted=0, wait_seconds=0.0)
    rate = per_minute / 60.0
    capacity = max(1.0, rate)
    if not settings.REDIS_URL:
        return _local.take(key, rate=rate, capacity=capacity, requested=requested)
    granted, wait_ms = _redis_script()(keys=[f"pm:rate:{key}"], args=[rate, capacity, requested])
    return Grant(granted=int(granted), wait_seconds=int(wait_ms) / 1000.0)


def provider_rate_per_minute(platform: str) -> int:
    if platform == "ios":
        return settings.PUSH_RATE_APNS_PER_MINUTE
    return settings.PUSH_RATE_FCM_PER_MINUTE
