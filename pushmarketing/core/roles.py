"""The three roles are Django groups created by a migration. A superuser is an admin."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    APPROVER = "approver", "Approver"


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_pm_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names & set(Role.values))
        user._pm_roles = cached
    return cached


def user_has_role(user: AbstractBaseUser | AnonymousUser | None, *roles: str) -> bool:
    """True when the user holds any of `roles`. Admins may do everything."""
    held = user_roles(user)
    return Role.ADMIN in held or bool(held & set(roles))
