"""Provider credentials: parse, validate, encrypt and store one per app and platform.

Each `credential_upload_*` service validates everything before writing anything, raises a
`ValidationError` whose keys name the offending input (`key`, `key_id`, `team_id`,
`certificate`, `password`, `service_account`) and whose messages say which rule failed, then
upserts the app's `PushCredential` for that platform. Secrets are encrypted with
`pushmarketing.core.secrets.encrypt_bytes`; only `public_meta` (safe fields) is ever shown or audited.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from devices.models import MobileApp, Platform, PushCredential
from pushmarketing.core.audit import audit_record
from pushmarketing.core.secrets import encrypt_bytes

logger = logging.getLogger(__name__)

# Real .p8 keys are ~250 bytes, .p12 files a few KiB, service-account JSON ~2.3 KiB: anything
# much larger is the wrong file, and refusing it early bounds parsing work.
MAX_CREDENTIAL_BYTES = 64 * 1024

APPLE_ID_RE = re.compile(r"^[A-Z0-9]{10}$")
FCM_PROJECT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
FCM_REQUIRED_KEYS = ("project_id", "client_email", "private_key", "token_uri")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# cryptography's curve names -> the names people know from Apple's and NIST's docs.
CURVE_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class ParsedCredential:
    """What gets stored: the secret text (encrypted later) and the safe-to-show fields."""

    kind: str
    platform: str
    secret_text: str
    public_meta: dict[str, Any]


class _Errors:
    """Collects every problem so one upload reports all of them at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)

    def fail(self, field: str, message: str) -> NoReturn:
        """Add a problem that stops the checks here, and raise with everything collected."""
        self.add(field, message)
        raise ValidationError(self.by_field)


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _check_size(errors: _Errors, field: str, data: bytes, what: str) -> bool:
    if not data.strip():
        errors.add(field, f"the {what} is empty")
        return False
    if len(data) > MAX_CREDENTIAL_BYTES:
        errors.add(field, credential_too_large_message(what, len(data)))
        return False
    return True


def credential_too_large_message(what: str, size: int) -> str:
    return (
        f"the {what} is too large ({-(-size // 1024)} KiB; the limit is "
        f"{MAX_CREDENTIAL_BYTES // 1024} KiB)"
    )


def _key_label(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "an RSA key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "an EC key"
    return f"a {type(key).__name__.removeprefix('_')} key"


def _load_private_key(data: bytes) -> tuple[object | None, str]:
    """The key, or None and the reason it could not be loaded."""
    try:
        return serialization.load_pem_private_key(data, password=None), ""
    except TypeError:
        return None, "the private key is password-protected; upload it without a password"
    except (ValueError, UnsupportedAlgorithm):
        return None, "not a PEM private key"


# --- APNs token (.p8) ----------------------------------------------------------------------


def parse_apns_token(*, key_pem: str | bytes, key_id: str, team_id: str) -> ParsedCredential:
    errors = _Errors()
    key_id = (key_id or "").strip()
    team_id = (team_id or "").strip()
    if not APPLE_ID_RE.match(key_id):
        errors.add("key_id", "key id must be exactly 10 characters, A-Z and 0-9")
    if not APPLE_ID_RE.match(team_id):
        errors.add("team_id", "team id must be exactly 10 characters, A-Z and 0-9")
    # Editors on Windows may add a byte-order mark, which the PEM parser does not skip.
    data = _as_bytes(key_pem).removeprefix(b"\xef\xbb\xbf")
    pem_text = ""
    if _check_size(errors, "key", data, ".p8 key file"):
        key, problem = _load_private_key(data)
        if key is None:
            errors.add("key", problem)
        elif not isinstance(key, ec.EllipticCurvePrivateKey):
            errors.add("key", f"{_key_label(key)}; APNs needs an EC P-256 key (.p8)")
        elif not isinstance(key.curve, ec.SECP256R1):
            label = CURVE_LABELS.get(key.curve.name, key.curve.name)
            errors.add("key", f"wrong curve ({label}); APNs needs P-256")
        else:
            # Normalised to unencrypted PKCS#8, the format Apple issues and aioapns reads.
            pem_text = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
    errors.raise_if_any()
    return ParsedCredential(
        kind=PushCredential.Kind.APNS_TOKEN,
        platform=Platform.IOS,
        secret_text=pem_text,
        public_meta={"key_id": key_id, "team_id": team_id},
    )


# --- APNs certificate (.p12) ---------------------------------------------------------------


def _certificate_topic(cert: x509.Certificate) -> str:
    """Apple push certificates carry the bundle id (the APNs topic) in the subject's UID."""
    values = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(values[0].value) if values else ""


def _same_public_key(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)


def parse_apns_certificate(
    *, p12_bytes: bytes, password: str, now: datetime | None = None
) -> ParsedCredential:
    errors = _Errors()
    password = password or ""
    if " " in password:
        # Marketo's rule, kept so files exported for Marketo work here unchanged.
        errors.add("password", "password must not contain spaces")
    data = bytes(p12_bytes or b"")
    _check_size(errors, "certificate", data, ".p12 file")
    errors.raise_if_any()
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        errors.fail("certificate", "wrong password or not a .p12 file")
    if key is None:
        # Without a key, the certificate comes back among `extra`; the key is what is missing.
        errors.fail("certificate", "the .p12 holds no private key; export it with its key")
    if cert is None:
        errors.fail("certificate", "the .p12 holds no certificate")
    now = now or datetime.now(UTC)
    expires_at = cert.not_valid_after_utc
    if expires_at <= now:
        errors.add("certificate", f"the certificate expired on {expires_at:%Y-%m-%d %H:%M} UTC")
    elif cert.not_valid_before_utc > now:
        errors.add(
            "certificate",
            f"the certificate is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
        )
    # cryptography refuses to write such a file, but other tools do not.
    if not _same_public_key(key, cert):
        errors.add("certificate", "the private key does not match the certificate")
    errors.raise_if_any()
    # aioapns hands `client_cert` to ssl.load_cert_chain, which wants one PEM holding the
    # certificate (then any chain) and the unencrypted key.
    pem_parts = [cert.public_bytes(serialization.Encoding.PEM)]
    pem_parts += [c.public_bytes(serialization.Encoding.PEM) for c in extra or []]
    pem_parts.append(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ParsedCredential(
        kind=PushCredential.Kind.APNS_CERTIFICATE,
        platform=Platform.IOS,
        secret_text=b"".join(pem_parts).decode(),
        public_meta={
            "subject": cert.subject.rfc4514_string(),
            "expires_at": expires_at.isoformat(),
            "topic": _certificate_topic(cert),
        },
    )


# --- FCM service account (JSON) ------------------------------------------------------------


def _token_uri_problem(value: object) -> str:
    if not isinstance(value, str) or not value:
        return '"token_uri" must be a URL string'
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return ""
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        if settings.PUSH_SIMULATOR_ENABLED:
            return ""
        return '"token_uri" points at a local simulator, which is only allowed when PUSH_SIMULATOR_ENABLED is on'
    return '"token_uri" must be an https URL'


def _fcm_field_problems(data: dict[str, Any]) -> list[str]:
    problems = []
    if data.get("type") != "service_account":
        problems.append(f'"type" must be "service_account" (got {json.dumps(data.get("type"))})')
    for name in FCM_REQUIRED_KEYS:
        if name not in data or data[name] in ("", None):
            problems.append(f'missing "{name}"')
    if any(data.get(name) in ("", None) for name in FCM_REQUIRED_KEYS):
        return problems
    project_id = data["project_id"]
    if not isinstance(project_id, str) or not FCM_PROJECT_ID_RE.match(project_id):
        problems.append('"project_id" must be letters, digits and hyphens')
    email = data["client_email"]
    if not isinstance(email, str) or "@" not in email:
        problems.append('"client_email" must be an email address')
    key_text = data["private_key"]
    key, problem = _load_private_key(_as_bytes(key_text) if isinstance(key_text, str) else b"")
    if key is None:
        problems.append(f'"private_key" is {problem}')
    elif not isinstance(key, rsa.RSAPrivateKey):
        problems.append(f'"private_key" is {_key_label(key)}; Google signs with RSA')
    if uri_problem := _token_uri_problem(data["token_uri"]):
        problems.append(uri_problem)
    return problems


def parse_fcm_service_account(*, service_account_json: str | bytes) -> ParsedCredential:
    errors = _Errors()
    raw = _as_bytes(service_account_json)
    if not _check_size(errors, "service_account", raw, "service-account file"):
        errors.raise_if_any()
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError:
        errors.add("service_account", "not a text file (expected UTF-8 JSON)")
        errors.raise_if_any()
    except json.JSONDecodeError as exc:
        errors.add(
            "service_account", f"not valid JSON ({exc.msg} at line {exc.lineno} col {exc.colno})"
        )
        errors.raise_if_any()
    if not isinstance(data, dict):
        errors.add("service_account", "must be a JSON object (the file Firebase downloads)")
        errors.raise_if_any()
    for problem in _fcm_field_problems(data):
        errors.add("service_account", problem)
    errors.raise_if_any()
    return ParsedCredential(
        kind=PushCredential.Kind.FCM_SERVICE_ACCOUNT,
        platform=Platform.ANDROID,
        secret_text=text,
        public_meta={
            "project_id": data["project_id"],
            "client_email": data["client_email"],
            "token_uri": data["token_uri"],
        },
    )


# --- storing -------------------------------------------------------------------------------


@transaction.atomic
def credential_store(
    *, app: MobileApp, parsed: ParsedCredential, actor: User | None
) -> PushCredential:
    """Upsert the app's credential for the platform: bump `version` (workers rebuild their
    clients) and reset verification, since the new file has not been verified."""
    # Lock the app so two concurrent first uploads cannot both try to insert.
    MobileApp.objects.select_for_update().filter(pk=app.pk).first()
    values = {
        "kind": parsed.kind,
        "secret_encrypted": encrypt_bytes(parsed.secret_text.encode()),
        "public_meta": parsed.public_meta,
        "uploaded_by": actor if actor is not None and actor.is_authenticated else None,
        "verification": PushCredential.Verification.UNVERIFIED,
        "verification_reason": "",
        "verified_at": None,
    }
    credential = PushCredential.objects.filter(app=app, platform=parsed.platform).first()
    if credential is None:
        credential = PushCredential.objects.create(app=app, platform=parsed.platform, **values)
    else:
        for name, value in values.items():
            setattr(credential, name, value)
        credential.version = F("version") + 1
        credential.save(update_fields=[*values, "version", "uploaded_at"])
        credential.refresh_from_db()
    logger.info(
        "credentials: app %s %s %s uploaded (version %s)",
        app.pk,
        parsed.platform,
        parsed.kind,
        credential.version,
    )
    audit_record(
        actor=actor,
        action="credential.uploaded",
        target=app,
        summary=f"{credential.get_kind_display()} uploaded for {app.name} "
        f"(version {credential.version})",
        details={
            "platform": parsed.platform,
            "kind": parsed.kind,
            "version": credential.version,
            "public_meta": parsed.public_meta,
        },
    )
    return credential


def credential_upload_apns_token(
    *,
    app: MobileApp,
    key_pem: str | bytes,
    key_id: str,
    team_id: str,
    actor: User | None,
) -> PushCredential:
    parsed = parse_apns_token(key_pem=key_pem, key_id=key_id, team_id=team_id)
    return credential_store(app=app, parsed=parsed, actor=actor)


def credential_upload_apns_certificate(
    *, app: MobileApp, p12_bytes: bytes, password: str, actor: User | None
) -> PushCredential:
    parsed = parse_apns_certificate(p12_bytes=p12_bytes, password=password)
    return credential_store(app=app, parsed=parsed, actor=actor)


def credential_upload_fcm(
    *, app: MobileApp, service_account_json: str | bytes, actor: User | None
) -> PushCredential:
    parsed = parse_fcm_service_account(service_account_json=service_account_json)
    return credential_store(app=app, parsed=parsed, actor=actor)


def credential_certificate_topic_mismatch(credential: PushCredential) -> str:
    """A warning (not an error) when a .p12's topic differs from the app's bundle id."""
    topic = (credential.public_meta or {}).get("topic", "")
    bundle = credential.app.ios_bundle_id
    if credential.kind == PushCredential.Kind.APNS_CERTIFICATE and topic and bundle != topic:
        return (
            f"the certificate is for {topic}, but the app's iOS bundle id is {bundle or '(empty)'}"
        )
    return ""
