"""Helpers for the HTML views: role checks and the add-on gate."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pushmarketing.addons import ADDON_DISABLED_MESSAGE, mobile_push_enabled
from pushmarketing.roles import user_has_role

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Login, then require one of `roles` (admins always pass). Refused on the server: 403."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not user_has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def addon_required(view: View) -> View:
    """Every push page shows the 'ask an admin' page while the add-on is off."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not mobile_push_enabled():
            return render(
                request, "addon_disabled.html", {"message": ADDON_DISABLED_MESSAGE}, status=403
            )
        return view(request, *args, **kwargs)

    return wrapped
