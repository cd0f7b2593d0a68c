"""Management API authentication and permissions, shared by every /api/v1/ endpoint.

`Authorization: Bearer <token>` with a per-user token (pushmarketing.core.api_tokens). Exports
`ApiTokenAuthentication`, `IsAddOnEnabled` and `role_permission(*roles)`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from pushmarketing.core.addons import ADDON_DISABLED_MESSAGE, mobile_push_enabled
from pushmarketing.core.api_tokens import api_token_authenticate
from pushmarketing.core.models import ApiToken
from pushmarketing.core.roles import user_has_role

API_REALM = "PushMarketing API"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Bearer token.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed Bearer token.") from exc
        token = api_token_authenticate(plaintext=plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{API_REALM}"'


class IsAddOnEnabled(BasePermission):
    """Nothing push-related is reachable while the Mobile Push add-on is off (403). The rule
    is the UI's: pushes and campaigns are behind the add-on; the device registry (apps,
    devices, leads, activities: the SDK keeps reporting whatever the add-on) is not — a view
    says so with `behind_addon = False`."""

    message = ADDON_DISABLED_MESSAGE
    code = "addon_disabled"

    def has_permission(self, request: Request, view: Any) -> bool:
        return not getattr(view, "behind_addon", True) or mobile_push_enabled()


def role_permission(*roles: str) -> type[BasePermission]:
    """A permission class allowing users who hold any of `roles` (admins always pass)."""

    class HasRole(BasePermission):
        message = "Your role does not allow this."
        code = "role_forbidden"

        def has_permission(self, request: Request, view: Any) -> bool:
            return user_has_role(request.user, *roles)

    HasRole.__name__ = HasRole.__qualname__ = f"HasRole_{'_'.join(roles) or 'admin'}"
    return HasRole


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "pushmarketing.core.api_auth.ApiTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (API tokens page). Send "
            "`Authorization: Bearer pmt_…`.",
        }
