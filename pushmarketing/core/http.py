"""Request types for the views' signatures, and the client address behind our proxies."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.settings import api_settings


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `role_required` receives: its user has signed in, so it is a
    `User`, never an `AnonymousUser`."""

    user: User


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with NUM_PROXIES set, the address that many proxies in from the right
    of X-Forwarded-For (a client can write anything to the left of it)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",")]
    return hops[-min(proxies, len(hops))]
