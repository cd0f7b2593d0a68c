from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from pushmarketing.core.addons import mobile_push_enabled
from pushmarketing.core.roles import Role, user_roles

# (label, url name, roles that see it; empty = every signed-in user). A page whose URL is not
# installed yet is left out, so apps can add their pages independently.
NAVIGATION: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Push notifications", "notification-list", (Role.MARKETER, Role.APPROVER)),
    ("Campaigns", "campaign-list", (Role.MARKETER, Role.APPROVER)),
    ("In-app messages", "inapp-message-list", (Role.MARKETER, Role.APPROVER)),
    ("Leads", "lead-list", (Role.MARKETER,)),
    ("Devices", "device-list", (Role.MARKETER,)),
    ("Mobile apps", "app-list", (Role.ADMIN,)),
    ("Virtual devices", "simulator-inbox", (Role.ADMIN, Role.MARKETER)),
    ("Users", "user-list", (Role.ADMIN,)),
    ("Audit log", "audit-log", (Role.ADMIN,)),
    ("Token health", "token-health", (Role.ADMIN,)),
    ("System health", "system-health", (Role.ADMIN,)),
    ("Settings", "settings", (Role.ADMIN,)),
    ("API tokens", "api-token-list", ()),
    ("API docs", "api-docs", ()),
)
# Pages behind the add-on gate (pushmarketing.core.ui.addon_required): hidden while it is off,
# since they would only answer 403.
ADDON_PAGES = frozenset({"notification-list", "campaign-list", "simulator-inbox"})


def navigation(request: HttpRequest) -> dict[str, Any]:
    roles = user_roles(getattr(request, "user", None))
    links = []
    addon_enabled = True
    if roles or getattr(request, "user", None) is not None and request.user.is_authenticated:
        addon_enabled = mobile_push_enabled()
        for label, url_name, allowed in NAVIGATION:
            if allowed and Role.ADMIN not in roles and not (roles & set(allowed)):
                continue
            if not addon_enabled and url_name in ADDON_PAGES:
                continue
            try:
                links.append({"label": label, "url": reverse(url_name)})
            except NoReverseMatch:
                continue
    return {
        "nav_links": links,
        "addon_enabled": addon_enabled,
        "user_roles": roles,
        "is_admin": Role.ADMIN in roles,
        "is_marketer": Role.ADMIN in roles or Role.MARKETER in roles,
        "is_approver": Role.ADMIN in roles or Role.APPROVER in roles,
    }
