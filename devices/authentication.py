"""SDK authentication: HTTP Basic with the app's SDK key and secret (the per-app throttle is in
devices.throttle; failed attempts are limited per key and address in devices.auth_failures).

The request's `user` stays None (no Django user, no session); `request.auth` is an `SdkApp`.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from devices.auth_failures import auth_failure_record, auth_failures_check
from devices.models import MobileApp
from pushmarketing.core.secrets import hashes_match

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
        auth_failures_check(sdk_key=key, request=request)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        try:
            if getattr(view, "sdk_app_lookup_cacheable", False):
                return None, self.cached_app_for(key, secret)
            return None, self.app_for(key, secret)
        except exceptions.AuthenticationFailed:
            auth_failure_record(sdk_key=key, request=request)  # 429 past the limit
            raise

    def cached_app_for(self, key: str, secret: str) -> SdkApp:
        """For views whose one write statement re-checks the app's secret hash (register):
        the app is looked up at most once a minute per process, and a secret matching the
        cached hash goes straight to that statement. A rotated secret still stops working at
        once: the statement finds the hash changed, writes nothing, and the view answers 401
        and evicts the entry. Any other secret is checked against the database."""
        cached = _APP_CACHE.get(key)
        if cached is not None:
            cached_app, fresh_until = cached
            if fresh_until > time.monotonic() and hashes_match(secret, cached_app.secret_hash):
                return cached_app
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
