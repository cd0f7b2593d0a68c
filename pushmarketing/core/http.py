"""Request types for the views' signatures."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `role_required` receives: its user has signed in, so it is a
    `User`, never an `AnonymousUser`."""

    user: User
