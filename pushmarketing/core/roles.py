"""The three roles are Django groups created by a migration. A superuser is an admin."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MARKETER = "marketer", _("Marketer")
    APPROVER = "approver", _("Approver")


# user_roles caches a user's roles on the instance under this attribute (like Django's own
# `_perm_cache`); a service that changes the roles deletes it.
ROLES_CACHE_ATTR = "_pm_roles"


def user_roles(user: User | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, ROLES_CACHE_ATTR, None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names & set(Role.values))
        setattr(user, ROLES_CACHE_ATTR, cached)
    return cached


def user_has_role(user: User | AnonymousUser | None, *roles: str) -> bool:
    """True when the user holds any of `roles`. Admins may do everything."""
    held = user_roles(user)
    return Role.ADMIN in held or bool(held & set(roles))
