"""The APIs' JSON parser: bounded in size and in nesting before anything is decoded."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# No request schema nests deeper than 3; Python's json module recurses once per level and a
# 10 KB body of 5,000 brackets raised RecursionError (a 500) before any serializer ran.
MAX_JSON_DEPTH = 32
# A JSON string (escapes included, written so the match never backtracks) or one bracket:
# brackets inside strings must not count.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = frozenset(b"[{")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def request_too_large_message(limit: int) -> str:
    return f"Request body is larger than {limit // 1024} KiB."


def upload_byte_limit() -> int | None:
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which may be None (no cap) though the stubs say
    int."""
    limit: int | None = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None)
    return limit


def body_byte_limit(view: object | None) -> int | None:
    """The cap on a view's request body: its own `max_body_bytes` where it declares one (an
    image endpoint takes an image as large as the composer does), else Django's."""
    own: int | None = getattr(view, "max_body_bytes", None)
    return own if own is not None else upload_byte_limit()


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    # Counting brackets is C-speed; a body with fewer openers than the limit cannot exceed it,
    # which is every ordinary request, so the scan below runs only on suspicious bodies.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue
        if token[0] in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """JSON of at most `max_bytes` (default: Django's DATA_UPLOAD_MAX_MEMORY_SIZE) and
    MAX_JSON_DEPTH levels of nesting; larger is 413, deeper is 400."""

    max_bytes: int | None = None

    def byte_limit(self) -> int | None:
        return self.max_bytes or upload_byte_limit()

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        limit = self.byte_limit()
        request = parser_context.get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit and length and length.isdigit() and int(length) > limit:
            raise RequestTooLarge(request_too_large_message(limit))
        # Read one byte past the limit: a body sent without an honest length is caught too.
        body = stream.read(limit + 1) if limit else stream.read()
        if limit and len(body) > limit:
            raise RequestTooLarge(request_too_large_message(limit))
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(body.decode(encoding), parse_constant=parse_constant)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
