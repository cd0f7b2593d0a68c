"""Answers under /api/ that never reach an API view still carry the APIs' error shape
(pushmarketing.core.api_errors): an unknown URL, a method a plain Django view refuses, a body
over Django's upload cap. Everywhere else Django's pages stay."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from pushmarketing.core.api_parsers import (
    body_byte_limit,
    request_too_large_message,
    upload_byte_limit,
)

API_PREFIX = "/api/"
# Status → (code, message), the codes DRF's own exceptions carry.
FALLBACK_ERRORS = {
    404: ("not_found", "No API endpoint at {path}."),
    405: ("method_not_allowed", "Method {method} is not allowed at {path}."),
    415: ("unsupported_media_type", "Unsupported media type at {path}."),
}


def api_error_response(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _declared_too_large(request: HttpRequest) -> int | None:
    """The upload cap when the declared body exceeds it. Django would raise
    RequestDataTooBig on first reading the body, which becomes a 400 HTML page."""
    length = request.META.get("CONTENT_LENGTH") or ""
    limit = upload_byte_limit()
    if limit is None or not length.isdigit() or int(length) <= limit:
        return None
    # Over Django's cap: only then is the URL resolved, for a view with a cap of its own.
    limit = body_byte_limit(_view_class(request))
    return limit if limit is not None and int(length) > limit else None


def _view_class(request: HttpRequest) -> type | None:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    view_class: type | None = getattr(match.func, "view_class", None)
    return view_class


class ApiErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        limit = _declared_too_large(request)
        if limit is not None:
            return api_error_response(413, "request_too_large", request_too_large_message(limit))
        response = self.get_response(request)
        fallback = FALLBACK_ERRORS.get(response.status_code)
        if fallback is None or response.get("Content-Type", "").startswith("application/json"):
            return response
        code, template = fallback
        message = template.format(path=request.path, method=request.method)
        answer = api_error_response(response.status_code, code, message)
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer
