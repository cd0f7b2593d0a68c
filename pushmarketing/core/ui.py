"""Helpers for the HTML views: role checks and the add-on gate."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from pushmarketing.core.addons import mobile_push_enabled
from pushmarketing.core.roles import user_has_role

View = Callable[..., HttpResponse]


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field-keyed errors next to the matching form fields."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, problems in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def service_error_text(exc: ValidationError) -> str:
    """A service's errors as one sentence, for a flash message on a page without a form."""
    return " ".join(str(message) for message in exc.messages)


def role_required(*roles: str) -> Callable[[View], View]:
    """Login, then require one of `roles` (admins always pass). Refused on the server: 403."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not user_has_role(request.user, *roles):
                raise PermissionDenied(gettext("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def addon_required(view: View) -> View:
    """Every push page shows the 'ask an admin' page while the add-on is off."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not mobile_push_enabled():
            return render(
                request,
                "addon_disabled.html",
                # The page's own words; the APIs keep the English ADDON_DISABLED_MESSAGE.
                {
                    "message": gettext(
                        "The Mobile Push add-on is not enabled — ask an admin to enable it."
                    )
                },
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped
