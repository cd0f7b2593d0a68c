"""The language of each request: the user's own choice (UserPreference.language) when they made
one, else the browser's Accept-Language (LocaleMiddleware, which runs before this). The APIs
always answer in English: their error texts are for machines and logs, and stay stable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from pushmarketing.core.models import UserPreference

# The choice rides in the session (copied there at login and when changed), so applying it
# costs no query on any request.
SESSION_LANGUAGE_KEY = "pm_language"
API_PREFIX = "/api/"


def user_language(user: User) -> str:
    """The user's chosen language code, or "" when the browser decides."""
    chosen = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return chosen or ""


def session_language_remember(request: HttpRequest, language: str) -> None:
    if language:
        request.session[SESSION_LANGUAGE_KEY] = language
    else:
        request.session.pop(SESSION_LANGUAGE_KEY, None)


def language_on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """user_logged_in receiver: carry the stored choice into the new session."""
    session_language_remember(request, user_language(user))


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: switch to the user's language, or to English on the APIs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    def _language(self, request: HttpRequest) -> str:
        if request.path.startswith(API_PREFIX):
            return "en"
        if not request.user.is_authenticated:
            return ""
        chosen = request.session.get(SESSION_LANGUAGE_KEY, "")
        return chosen if chosen in self.supported else ""
