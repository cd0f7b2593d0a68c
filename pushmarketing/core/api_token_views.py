"""The API tokens page: every signed-in user manages their own management API tokens.
Thin views: parse, call pushmarketing.core.api_tokens, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from pushmarketing.core.api_tokens import ApiTokenError, api_token_create, api_token_revoke
from pushmarketing.core.api_tokens import api_tokens_of_user as tokens_of
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.models import ApiToken


def _page(request: AuthenticatedHttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("tokens", tokens_of(user=request.user))
    context.setdefault("docs_url", reverse("api-docs"))
    return render(request, "pushmarketing/api_tokens.html", context, status=status)


@require_GET
@login_required
def api_token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
def api_token_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    try:
        token, plaintext = api_token_create(user=request.user, name=name)
    except ApiTokenError as exc:
        return _page(request, status=400, form_error=exc.message, form_name=name)
    # Rendered, not redirected: the plaintext must never be stored, not even in the session.
    return _page(request, new_token=token, plaintext=plaintext)


@require_POST
@login_required
def api_token_revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # Only your own tokens: someone else's is "not found", not "forbidden".
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token, actor=request.user)
    messages.success(
        request,
        gettext("Token “%(name)s” revoked; requests using it now fail.") % {"name": token.name},
    )
    return redirect("api-token-list")
