"""Management API tokens: per user, shown once, stored as prefix + keyed hash, audited."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import ApiToken
from pushmarketing.core.secrets import hashes_match, keyed_hash, random_token

TOKEN_PREFIX = "pmt_"  # noqa: S105 - a name or public constant, not a password
# The stored prefix identifies the row (unique index) without revealing the secret part:
# "pmt_" + 8 random characters of a 43-character urlsafe token.
PREFIX_LENGTH = 12
MAX_ACTIVE_TOKENS_PER_USER = 25
# last_used_at is for humans ("used 3 minutes ago"): writing it at most once a minute keeps
# a busy integration from turning every read into a write.
LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the plaintext, which is never stored."""
    name = name.strip()
    if not name:
        raise ApiTokenError("name", "Give the token a name, e.g. the integration using it.")
    if len(name) > 80:
        raise ApiTokenError("name", "Name must be at most 80 characters.")
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ApiTokenError(
            "name", f"You already have {active} active tokens; revoke one you no longer use."
        )
    for attempt in range(3):
        plaintext = random_token(TOKEN_PREFIX, nbytes=32)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=plaintext[:PREFIX_LENGTH],
                    token_hash=keyed_hash(plaintext),
                )
                audit_record(
                    actor=user,
                    action="api_token.created",
                    target=token,
                    summary=f"API token “{name}” created ({token.prefix}…)",
                    details={"prefix": token.prefix, "name": name},
                )
            return token, plaintext
        except IntegrityError:
            # Two tokens drew the same 8-character prefix (1 in 2^48): draw again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke at once (the next request with it is refused). Revoking twice is a no-op."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if updated:
        audit_record(
            actor=actor,
            action="api_token.revoked",
            target=token,
            summary=f"API token “{token.name}” revoked ({token.prefix}…)",
            details={"prefix": token.prefix, "name": token.name, "owner_id": token.user_id},
        )
    return token


def api_token_authenticate(*, plaintext: str) -> ApiToken | None:
    """The active token for `plaintext` with its user loaded, or None (unknown, wrong,
    revoked, or its user deactivated)."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) < PREFIX_LENGTH + 8:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=plaintext[:PREFIX_LENGTH], revoked_at__isnull=True)
        .first()
    )
    if token is None or not hashes_match(plaintext, token.token_hash):
        return None
    if not token.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    stale = now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
        ).update(last_used_at=now)
        token.last_used_at = now


def api_tokens_of_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens, newest first (a selector kept beside its services)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
