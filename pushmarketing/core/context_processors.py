from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from pushmarketing.core.addons import mobile_push_enabled
from pushmarketing.core.locale import SESSION_LANGUAGE_KEY
from pushmarketing.core.roles import Role, user_roles

# (label, url name, roles that see it; empty = every signed-in user). A page whose URL is not
# installed yet is left out, so apps can add their pages independently.
NAVIGATION: tuple[tuple[Promise, str, tuple[str, ...]], ...] = (
    (_("Push notifications"), "notification-list", (Role.MARKETER, Role.APPROVER)),
    (_("Campaigns"), "campaign-list", (Role.MARKETER, Role.APPROVER)),
    (_("In-app messages"), "inapp-message-list", (Role.MARKETER, Role.APPROVER)),
    (_("Leads"), "lead-list", (Role.MARKETER,)),
    (_("Devices"), "device-list", (Role.MARKETER,)),
    (_("Mobile apps"), "app-list", (Role.ADMIN,)),
    (_("Virtual devices"), "simulator-inbox", (Role.ADMIN, Role.MARKETER)),
    (_("Users"), "user-list", (Role.ADMIN,)),
    (_("Audit log"), "audit-log", (Role.ADMIN,)),
    (_("Token health"), "token-health", (Role.ADMIN,)),
    (_("System health"), "system-health", (Role.ADMIN,)),
    (_("Settings"), "settings", (Role.ADMIN,)),
    (_("API tokens"), "api-token-list", ()),
    (_("API docs"), "api-docs", ()),
)
# Pages behind the add-on gate (pushmarketing.core.ui.addon_required): hidden while it is off,
# since they would only answer 403.
ADDON_PAGES = frozenset({"notification-list", "campaign-list", "simulator-inbox"})


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _mark_current(links: list[dict[str, Any]], path: str) -> None:
    """The section the page belongs to (`aria-current` in the menu): the link sharing the most
    leading path segments with it, so a run's dashboard (/campaigns/runs/…) is under
    Campaigns and /system/token-health/ under Token health, not System health."""
    here = _segments(path)
    best, shared_most = None, 0
    for link in links:
        shared = 0
        for mine, theirs in zip(here, _segments(link["url"]), strict=False):
            if mine != theirs:
                break
            shared += 1
        if shared > shared_most:
            best, shared_most = link, shared
    if best is not None:
        best["current"] = True


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
                links.append({"label": label, "url": reverse(url_name), "current": False})
            except NoReverseMatch:
                continue
        _mark_current(links, request.path_info)
    return {
        "nav_links": links,
        "addon_enabled": addon_enabled,
        "user_roles": roles,
        "user_role_labels": [role.label for role in Role if role in roles],
        "language_choice": request.session.get(SESSION_LANGUAGE_KEY, "")
        if hasattr(request, "session")
        else "",
        "is_admin": Role.ADMIN in roles,
        "is_marketer": Role.ADMIN in roles or Role.MARKETER in roles,
        "is_approver": Role.ADMIN in roles or Role.APPROVER in roles,
    }
