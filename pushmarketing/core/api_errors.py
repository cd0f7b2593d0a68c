"""One error shape for every API answer: {"error": {"code", "message", "fields"}}, where
`fields` maps each bad field to the rules it broke."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# Built from a dict: a serializer class cannot declare a field named `fields` (the name of
# Serializer's own property) without type checkers objecting.
ERROR_DETAIL_OUTPUT = inline_serializer(
    name="ErrorDetailOutput",
    fields={
        "code": serializers.CharField(
            help_text="Stable and machine-readable: invalid, parse_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, throttled, "
            "request_too_large…"
        ),
        "message": serializers.CharField(help_text="For people; names the first field at fault."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="400 and 409: each field at fault and the rules it broke.",
        ),
        "retry_after_seconds": serializers.IntegerField(
            required=False, help_text="429: seconds to wait, the same as the Retry-After header."
        ),
    },
)


class ErrorOutput(serializers.Serializer):
    error = ERROR_DETAIL_OUTPUT


def error_responses(descriptions: Mapping[int, str]) -> dict[int, OpenApiResponse]:
    """Schema responses of the error shape, one per status with its description."""
    return {
        code: OpenApiResponse(ErrorOutput, description=text) for code, text in descriptions.items()
    }


class Conflict(exceptions.APIException):
    """409: the request is valid but the state of the target refuses it. `fields` names the
    field whose value is at odds with that state."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, message: str, *, code: str, fields: dict[str, list[str]]) -> None:
        super().__init__(message, code)
        self.fields = fields


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or "non_field_errors"
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # DRF answers Django's two exceptions as its own; converted here too, the body carries
    # their codes ("not_found", "permission_denied") rather than "error".
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()))
        message = f"{first[0]}: {first[1][0]}"
        response.data = {"error": {"code": "invalid", "message": message, "fields": fields}}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = getattr(exc, "detail", str(exc))
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    body: dict[str, Any] = {"code": code, "message": str(detail)}
    if isinstance(exc, Conflict):
        body["fields"] = exc.fields
    # Throttled.__init__ rounds `wait` up to whole seconds (or leaves None) and DRF's handler
    # writes exactly that to Retry-After: the body repeats it. (The stubs do not declare it.)
    wait: float | None = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after_seconds"] = int(wait)
    response.data = {"error": body}
    return response
