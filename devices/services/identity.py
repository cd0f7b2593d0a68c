"""Identity verification. The SDK key and secret ship inside the app, so anyone can extract
them; what they cannot forge is a signature from the customer's backend, which knows who is
logged in. With verification on, a login (`POST …/devices/<id>/lead`) must carry

    identity_signature = hex(HMAC-SHA256(key=identity secret, message=identity))

where the identity is the `external_id` sent, or the `email` sent, or — both sent — the
external id, a newline and the e-mail, as sent. Both are signed when both are sent: an
unsigned e-mail next to the caller's own signed id would let a logged-in attacker link a
victim's e-mail lead to their id. The secret is per app, generated here, shown once and kept
encrypted (the server must read it to compute the HMAC). Nothing here logs it."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from devices.models import LEAD_STANDARD_FIELDS, MobileApp
from devices.services.rules import MAX_CUSTOM_FIELD_KEY_LENGTH, IdentityUnverified
from pushmarketing.core.audit import audit_record, fields_apply
from pushmarketing.core.secrets import decrypt_bytes, encrypt_bytes, random_token

SIGNATURE_RULE = (
    "identity_signature must be the hex HMAC-SHA256, keyed with the app's identity secret, "
    "of the external_id sent, or of the email when no external_id is sent, or of "
    "external_id + newline + email when both are sent."
)
REQUIRED_RULE = "Identity verification is on for this app: " + SIGNATURE_RULE
_HEX = re.compile(r"[0-9a-f]{64}")


def identity_message(*, external_id: str | None, email: str | None) -> str:
    return "\n".join(value for value in (external_id, email) if value)


def identity_signature(*, secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def identity_verify(
    *, app: MobileApp, external_id: str | None, email: str | None, signature: str | None
) -> bool:
    """True when the call is verified; False when it is unsigned and the app allows that.
    Raises IdentityUnverified for a missing signature the app requires and for any wrong
    one (a signature sent is always checked, whatever the setting)."""
    if not signature:
        if app.identity_verification_required:
            raise IdentityUnverified(REQUIRED_RULE)
        return False
    if not app.identity_secret_encrypted:
        raise IdentityUnverified(
            "identity_signature sent, but this app has no identity secret: an admin "
            "generates one under Mobile apps → app → Identity."
        )
    secret = decrypt_bytes(app.identity_secret_encrypted).decode()
    expected = identity_signature(
        secret=secret, message=identity_message(external_id=external_id, email=email)
    )
    signature = signature.lower()
    if not (_HEX.fullmatch(signature) and hmac.compare_digest(expected, signature)):
        raise IdentityUnverified("Invalid identity signature: " + SIGNATURE_RULE)
    return True


@transaction.atomic
def app_identity_secret_rotate(*, app: MobileApp, actor: User | None) -> str:
    """A new identity secret, returned once; signatures made with the old one fail from this
    commit (only one secret is kept)."""
    secret = random_token("ik_", 32)
    first = not app.identity_secret_encrypted
    app.identity_secret_encrypted = encrypt_bytes(secret.encode())
    app.identity_secret_rotated_at = timezone.now()
    app.save(update_fields=["identity_secret_encrypted", "identity_secret_rotated_at"])
    audit_record(
        actor=actor,
        action="app.identity_secret_rotated",
        target=app,
        summary=f"Identity secret of {app.name} "
        + ("generated" if first else "rotated; signatures made with the old one fail"),
        details={"sdk_key": app.sdk_key},
    )
    return secret


def _custom_field_keys(keys: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(key.strip() for key in keys if key.strip()))
    too_long = [key for key in cleaned if len(key) > MAX_CUSTOM_FIELD_KEY_LENGTH]
    if too_long:
        raise ValidationError(
            {
                "sdk_writable_custom_fields": (
                    f"custom field names are at most {MAX_CUSTOM_FIELD_KEY_LENGTH} characters "
                    f"({too_long[0][:20]}… is longer)"
                )
            }
        )
    return cleaned


@transaction.atomic
def app_identity_settings_update(
    *,
    app: MobileApp,
    verification_required: bool,
    writable_fields: Iterable[str],
    writable_custom_fields: Iterable[str],
    actor: User | None,
) -> MobileApp:
    wanted = set(writable_fields)
    fields = [name for name in LEAD_STANDARD_FIELDS if name in wanted]
    unknown = sorted(wanted - set(LEAD_STANDARD_FIELDS))
    if unknown:
        raise ValidationError({"sdk_writable_lead_fields": f"not a lead field: {unknown[0]}"})
    custom = _custom_field_keys(writable_custom_fields)
    if verification_required and not app.identity_secret_encrypted:
        raise ValidationError(
            {"identity_verification_required": "generate the identity secret first"}
        )
    new_values = {
        "identity_verification_required": verification_required,
        "sdk_writable_lead_fields": fields,
        "sdk_writable_custom_fields": custom,
    }
    changes = fields_apply(app, new_values)
    if not changes:
        return app
    app.save(update_fields=list(new_values))
    audit_record(
        actor=actor,
        action="app.identity_updated",
        target=app,
        summary=f"Identity settings of {app.name} updated: {', '.join(changes)}",
        details={"changes": changes},
    )
    return app
