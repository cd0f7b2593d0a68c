"""Users and roles. Roles are the admin/marketer/approver groups; every change is audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import UserPreference
from pushmarketing.core.roles import ROLES_CACHE_ATTR, Role, user_roles


def _clean_roles(roles: Iterable[str]) -> list[str]:
    chosen = sorted(set(roles))
    unknown = [r for r in chosen if r not in Role.values]
    if unknown:
        raise ValidationError(
            {"roles": [f"unknown role {', '.join(unknown)}; use {', '.join(Role.values)}"]}
        )
    return chosen


def _pm_role_names(user: User) -> list[str]:
    return sorted(set(user.groups.values_list("name", flat=True)) & set(Role.values))


def _forget_cached_roles(user: User) -> None:
    # roles.user_roles caches on the instance; a changed user must be re-read.
    if hasattr(user, ROLES_CACHE_ATTR):
        delattr(user, ROLES_CACHE_ATTR)


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str,
    roles: Iterable[str],
    actor: User | None,
) -> User:
    username, email = username.strip(), email.strip()
    errors: dict[str, list[str]] = {}
    try:
        chosen = _clean_roles(roles)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        chosen = []
    if not username:
        errors["username"] = ["username is required"]
    elif len(username) > 150:
        errors["username"] = ["username must be at most 150 characters"]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [f'username "{username}" is already taken']
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["enter a valid email address"]
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(username=username, email=email, password=password)
    user.groups.set(Group.objects.filter(name__in=chosen))
    audit_record(
        actor=actor,
        action="user.created",
        target=user,
        summary=f"User {username} created with roles: {', '.join(chosen) or 'none'}",
        details={"roles": chosen},
    )
    return user


@transaction.atomic
def user_set_roles(*, user: User, roles: Iterable[str], actor: User) -> User:
    """Replace the user's PushMarketing roles (other groups are left alone)."""
    chosen = _clean_roles(roles)
    if user.pk == actor.pk and Role.ADMIN not in chosen and Role.ADMIN in user_roles(actor):
        raise ValidationError({"roles": [gettext("you cannot remove your own admin role")]})
    before = _pm_role_names(user)
    if before == chosen:
        return user
    keep = user.groups.exclude(name__in=Role.values)
    user.groups.set([*keep, *Group.objects.filter(name__in=chosen)])
    _forget_cached_roles(user)
    audit_record(
        actor=actor,
        action="user.roles_changed",
        target=user,
        summary=f"Roles of {user.get_username()}: {', '.join(before) or 'none'} → "
        f"{', '.join(chosen) or 'none'}",
        details={"before": before, "after": chosen},
    )
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Deactivated users cannot sign in; their history (audit, pushes) stays."""
    if user.pk == actor.pk:
        raise ValidationError({"user": [gettext("you cannot deactivate yourself")]})
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.deactivated",
            target=user,
            summary=f"User {user.get_username()} deactivated",
        )
    return user


@transaction.atomic
def user_reactivate(*, user: User, actor: User) -> User:
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.reactivated",
            target=user,
            summary=f"User {user.get_username()} reactivated",
        )
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: User) -> User:
    """An admin sets a new password (e.g. a forgotten one); the audit never holds it."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        action="user.password_set",
        target=user,
        summary=f"Password of {user.get_username()} set by an admin",
    )
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str, actor: User) -> User:
    """Store the user's UI language ("" = follow the browser's Accept-Language)."""
    codes = [code for code, _name in settings.LANGUAGES]
    if language and language not in codes:
        raise ValidationError(
            {"language": [f"language must be one of {', '.join(codes)} or empty (the browser's)"]}
        )
    preference, _created = UserPreference.objects.get_or_create(user=user)
    before = preference.language
    if before == language:
        return user
    preference.language = language
    preference.save(update_fields=["language"])
    audit_record(
        actor=actor,
        action="user.language_changed",
        target=user,
        summary=f"Language of {user.get_username()}: {before or 'browser'} → "
        f"{language or 'browser'}",
        details={"before": before, "after": language},
    )
    return user
