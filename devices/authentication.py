"""SDK authentication: HTTP Basic with the app's SDK key and secret, and the per-app throttle.

The request's `user` stays None (no Django user, no session); `request.auth` is an `SdkApp`.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from devices.models import MobileApp
from pushmarketing.secrets import hashes_match

SDK_REALM = "PushMarketing SDK"


@dataclass(frozen=True)
class SdkApp:
    """What an SDK request knows about its app. `secret_hash` is the keyed hash the request
    authenticated against (a hash, not the secret; never logged or returned)."""

    id: int
    sdk_key: str
    name: str
    secret_hash: str = field(default="", repr=False)

    @property
    def pk(self) -> int:
        return self.id


# sdk_key -> (app, monotonic expiry). Per process; see SdkAppAuthentication.cached_app_for.
_APP_CACHE: dict[str, tuple[SdkApp, float]] = {}
APP_CACHE_SECONDS = 60.0
APP_CACHE_MAX_ENTRIES = 10_000


def sdk_app_cache_evict(sdk_key: str) -> None:
    _APP_CACHE.pop(sdk_key, None)


def sdk_app_cache_clear() -> None:
    _APP_CACHE.clear()


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = get_authorization_header(request).split()
    if not header or header[0].lower() != b"basic":
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Malformed Basic credentials.")
    try:
        key, sep, secret = base64.b64decode(header[1], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from exc
    if not sep or not key or not secret:
        raise exceptions.AuthenticationFailed("Basic credentials must be sdk_key:sdk_secret.")
    return key, secret


class SdkAppAuthentication(BaseAuthentication):
    """One indexed lookup by key, then a constant-time comparison of keyed hashes. The hash
    is read on every request, so a rotated secret stops working at once — except on views
    that set `sdk_app_lookup_cacheable` because their write re-checks it (cached_app_for)."""

    def authenticate(self, request: Request) -> tuple[None, SdkApp] | None:
        credentials = _basic_credentials(request)
        if credentials is None:
            return None
        key, secret = credentials
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if getattr(view, "sdk_app_lookup_cacheable", False):
            return None, self.cached_app_for(key, secret)
        return None, self.app_for(key, secret)

    def cached_app_for(self, key: str, secret: str) -> SdkApp:
        """For views whose one write statement re-checks the app's secret hash (register):
        the app is looked up at most once a minute per process, and a secret matching the
        cached hash goes straight to that statement. A rotated secret still stops working at
        once: the statement finds the hash changed, writes nothing, and the view answers 401
        and evicts the entry. Any other secret is checked against the database."""
        cached = _APP_CACHE.get(key)
        fresh = cached is not None and cached[1] > time.monotonic()
        if fresh and hashes_match(secret, cached[0].secret_hash):
            return cached[0]
        app = self.app_for(key, secret)
        if len(_APP_CACHE) >= APP_CACHE_MAX_ENTRIES:
            _APP_CACHE.clear()
        _APP_CACHE[key] = (app, time.monotonic() + APP_CACHE_SECONDS)
        return app

    def app_for(self, key: str, secret: str) -> SdkApp:
        row = MobileApp.objects.filter(sdk_key=key).values_list("id", "sdk_secret_hash", "name")
        found = row.first()
        # Compare even for an unknown key, so timing does not reveal which keys exist.
        if not hashes_match(secret, found[1] if found else "0" * 64) or found is None:
            raise exceptions.AuthenticationFailed("Invalid SDK key or secret.")
        return SdkApp(id=found[0], sdk_key=key, name=found[2], secret_hash=found[1])

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{SDK_REALM}"'


def _redis_client(backend: Any) -> Any:
    # Django's RedisCache builds a client object per call and its incr() costs two round
    # trips; the throttle runs on every SDK request, so keep one client per cache handle
    # (handles are per thread) and count with one pipelined INCR + EXPIRE.
    client = getattr(backend, "_pm_throttle_client", None)
    if client is None:
        client = backend._cache.get_client(write=True)
        backend._pm_throttle_client = client
    return client


def _count_hit(key: str, *, ttl: int) -> int:
    """Count one request in the window `key` and return the window's count so far."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _redis_client(backend).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])
    if backend.add(key, 1, timeout=ttl):
        return 1
    try:
        return backend.incr(key)
    except ValueError:  # the window expired between add and incr
        backend.add(key, 1, timeout=ttl)
        return 1


class SdkAppThrottle(BaseThrottle):
    """Fixed one-window counter per app key (`sdk_app` rate). One cache INCR per request,
    unlike DRF's SimpleRateThrottle which stores and rewrites every request timestamp."""

    scope = "sdk_app"

    def __init__(self) -> None:
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
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
        key = f"pm:throttle:{self.scope}:{app.sdk_key}:{self.period}:{window}"
        count = _count_hit(key, ttl=self.period + 1)
        if count > self.limit:
            self._wait = (window + 1) * self.period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class SdkAppAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "devices.authentication.SdkAppAuthentication"
    name = "sdkBasic"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with the app's SDK key as user name and SDK secret as "
            "password (Mobile apps → app → SDK keys).",
        }
