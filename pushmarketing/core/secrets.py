"""Secrets: credentials encrypted at rest (Fernet) and keyed hashes for SDK secrets and API
tokens. Nothing here logs a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as stdlib_secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.PUSH_CREDENTIALS_KEYS)
    if not keys:
        # DEBUG only (settings refuses this in production): a stable key derived from SECRET_KEY.
        digest = hashlib.sha256(("push-credentials:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt_bytes(plain: bytes) -> str:
    return _fernet().encrypt(plain).decode()


def decrypt_bytes(token: str) -> bytes:
    try:
        return _fernet().decrypt(token.encode())
    except InvalidToken as exc:
        raise ValueError(
            "stored credentials cannot be decrypted with PUSH_CREDENTIALS_KEY"
        ) from exc


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 with a server-side key. Secrets are long random strings, so a fast keyed
    hash is enough (no password stretching needed) and keeps SDK auth at microseconds."""
    key = hashlib.sha256(("keyed-hash:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def hashes_match(value: str, expected_hash: str) -> bool:
    return hmac.compare_digest(keyed_hash(value), expected_hash)


def random_token(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}{stdlib_secrets.token_urlsafe(nbytes)}"
