"""What every management API (/api/v1/) view shares: per-user Bearer token, the add-on on,
admin or marketer, throttled, paginated. The endpoints live in their apps (devices, campaigns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework import generics, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import (
    BasePermission,
    IsAuthenticated,
    OperandHolder,
    SingleOperandHolder,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from pushmarketing.core.api_auth import ApiTokenAuthentication, IsAddOnEnabled, role_permission
from pushmarketing.core.api_errors import error_responses
from pushmarketing.core.models import ApiToken
from pushmarketing.core.roles import Role
from pushmarketing.core.throttling import WindowThrottle

MANAGEMENT_TAG = ["Management"]
# The answers every /api/v1/ operation may give besides its own (schema documentation).
ACCESS_ERRORS = error_responses(
    {
        401: "Missing, malformed, invalid or revoked API token.",
        403: "The Mobile Push add-on is off, or your role may not use the API.",
        429: "Too many requests for this API token; see Retry-After.",
    }
)
INVALID_QUERY = error_responses(
    {400: "Invalid query parameter: error.fields names each and the rule it broke."}
)
PAGE_NOT_FOUND = error_responses({404: "No such page (past the last one, or not a number)."})


class ManagementPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ManagementThrottle(WindowThrottle):
    """The `management` rate per API token (per user for a session or a test's forced login)."""

    scope = "management"

    def ident(self, request: Request) -> str | None:
        if isinstance(request.auth, ApiToken):
            return f"token-{request.auth.pk}"
        user_id = getattr(request.user, "pk", None)
        return None if user_id is None else f"user-{user_id}"


class ManagementAccess:
    """What every /api/v1/ view requires: Bearer token, add-on on, admin or marketer,
    throttled. The lists are typed like APIView's, which the views combine this with."""

    authentication_classes: Sequence[type[BaseAuthentication]] = [ApiTokenAuthentication]
    permission_classes: Sequence[type[BasePermission] | OperandHolder | SingleOperandHolder] = [
        IsAuthenticated,
        IsAddOnEnabled,
        role_permission(Role.ADMIN, Role.MARKETER),
    ]
    throttle_classes: Sequence[type[BaseThrottle]] = [ManagementThrottle]


class ManagementApi(ManagementAccess, generics.GenericAPIView):
    """Base for the paginated, filtered /api/v1/ list and detail views."""

    pagination_class = ManagementPagination
    filter_serializer: type[serializers.Serializer] | None = None

    def filters(self) -> dict[str, Any]:
        if self.filter_serializer is None:
            return {}
        params = self.filter_serializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return {k: v for k, v in params.validated_data.items() if v not in (None, "")}

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
