"""SDK authentication: HTTP Basic with the app's SDK key and secret, and the per-app throttle.

The request's `user` stays None (no Django user, no session); `request.auth` is an `SdkApp`.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
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
    """What an SDK request knows about its app: enough for every SDK call, nothing secret."""

    id: int
    sdk_key: str
    name: str

    @property
    def pk(self) -> int:
        return self.id


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
    is read on every request (not cached), so a rotated secret stops working at once."""

    def authenticate(self, request: Request) -> tuple[None, SdkApp] | None:
        credentials = _basic_credentials(request)
        if credentials is None:
            return None
        key, secret = credentials
        row = MobileApp.objects.filter(sdk_key=key).values_list("id", "sdk_secret_hash", "name")
        found = row.first()
        # Compare even for an unknown key, so timing does not reveal which keys exist.
        if not hashes_match(secret, found[1] if found else "0" * 64) or found is None:
            raise exceptions.AuthenticationFailed("Invalid SDK key or secret.")
        return None, SdkApp(id=found[0], sdk_key=key, name=found[2])

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{SDK_REALM}"'


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
        key = f"throttle:{self.scope}:{app.sdk_key}:{self.period}:{window}"
        if cache.add(key, 1, timeout=self.period + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=self.period + 1)
                count = 1
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
