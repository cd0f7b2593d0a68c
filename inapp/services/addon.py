"""The In-app messages add-on switch: the core's audited switch (pushmarketing.core.addons)
with this add-on's code. While it is off the SDK is shown nothing, the management API answers
403 and campaigns cannot go live."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from pushmarketing.core.addons import AddOnStatus, addon_set_enabled, addon_status
from pushmarketing.core.models import AddOn
from pushmarketing.core.roles import Role, user_has_role


def addon_in_app_set_enabled(*, enabled: bool, actor: User | None, source: str = "") -> AddOn:
    """Admins only; `actor` None is a trusted command (the demo seed names itself in `source`)."""
    if actor is not None and not user_has_role(actor, Role.ADMIN):
        raise PermissionDenied("Only admins can switch the In-app messages add-on.")
    return addon_set_enabled(
        enabled=enabled, actor=actor, source=source, code=AddOn.Code.IN_APP_MESSAGES
    )


def addon_in_app_status() -> AddOnStatus:
    return addon_status(AddOn.Code.IN_APP_MESSAGES)
