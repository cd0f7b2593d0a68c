"""The SDK API's per-app throttle: a fixed window per app key (the `sdk_app` rate, e.g.
3000/min), counted where every web process sees one count (pushmarketing.core.throttling:
Redis, or a database row on the embedded default)."""

from __future__ import annotations

from rest_framework.request import Request

from devices.authentication import SdkApp
from pushmarketing.core.throttling import WindowThrottle


class SdkAppThrottle(WindowThrottle):
    scope = "sdk_app"

    def ident(self, request: Request) -> str | None:
        app = request.auth
        return app.sdk_key if isinstance(app, SdkApp) else None
