"""Provider credentials: parse, validate, encrypt and store one per app and platform.

Each `credential_upload_*` service validates everything before writing anything, raises a
`ValidationError` whose keys name the offending input (`key`, `key_id`, `team_id`,
`certificate`, `password`, `service_account`) and whose messages say which rule failed, or,
for the wrong file, what it is and where it belongs ("this is a certificate, not a .p8 key; …",
see `credential_file_kind`), then upserts the app's `PushCredential` for that platform. Secrets are encrypted with
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


# --- recognising the wrong file ------------------------------------------------------------
# People upload what is at hand: the push certificate instead of the .p8, the .p8 where the
# .p12 goes, google-services.json instead of the service account. Saying which file it is and
# where it belongs beats "not a PEM private key".

PEM_LABEL_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
# A PKCS#12 file: SEQUENCE { INTEGER 3, ContentInfo { OID 1.2.840.113549.1.7.1 (data) … } … }.
P12_VERSION = b"\x02\x01\x03\x30"
PKCS7_DATA_OID = bytes.fromhex("06092a864886f70d010701")
APNS_KEY_FILENAME_RE = re.compile(r"AuthKey_([A-Z0-9]{10})(?![A-Z0-9])")
FIREBASE_KEY_STEPS = (
    "in the Firebase console open Project settings → Service accounts → Generate new private key"
)

# What each recognised file is, as the sentence "this is …" ends.
FOUND = {
    "private_key": "a private key",
    "apns_key": "an APNs auth key (.p8)",
    "certificate": "a certificate",
    "cert_and_key": "a PEM file holding a certificate and its private key",
    "csr": "a certificate signing request",
    "public_key": "a public key",
    "p12": "a .p12 bundle",
    "service_account": "a Firebase service-account JSON",
    "google_services_json": "a client config (google-services.json, which goes in the Android app)",
    "google_services_plist": "a client config (GoogleService-Info.plist, which goes in the iOS app)",
    "firebase_web_config": "a web-client config (a Firebase web app's firebaseConfig)",
    "oauth_client": "an OAuth client secret (client_secret_….json)",
    "gcloud_user": "a gcloud user credential (application_default_credentials.json)",
    "external_account": "a workload identity federation config (external_account)",
    "json": "a JSON file",
    "plist": "a property list (.plist)",
    "zip": "a zip archive",
    "text": "a text file",
    "binary": "a binary file",
}


def _json_kind(data: object) -> str:
    if not isinstance(data, dict):
        return "json"
    kind = data.get("type")
    if kind == "service_account":
        return "service_account"
    if kind in ("authorized_user", "external_account"):
        return "gcloud_user" if kind == "authorized_user" else "external_account"
    if "project_info" in data and "client" in data:
        return "google_services_json"
    if "apiKey" in data and ("authDomain" in data or "appId" in data):
        return "firebase_web_config"
    for section in ("web", "installed"):
        if isinstance(data.get(section), dict) and "client_id" in data[section]:
            return "oauth_client"
    return "json"


def _pem_kind(labels: set[bytes]) -> str:
    has_key = any(label.endswith(b"PRIVATE KEY") for label in labels)
    has_cert = any(label.endswith(b"CERTIFICATE") for label in labels)
    if has_key and has_cert:
        return "cert_and_key"
    if has_key:
        return "private_key"
    if has_cert:
        return "certificate"
    if any(label.endswith(b"CERTIFICATE REQUEST") for label in labels):
        return "csr"
    if any(label.endswith(b"PUBLIC KEY") for label in labels):
        return "public_key"
    return "text"


def _der_kind(data: bytes) -> str:
    if P12_VERSION in data[:12] and PKCS7_DATA_OID in data[:40]:
        return "p12"
    try:
        x509.load_der_x509_certificate(data)
        return "certificate"
    except ValueError:
        pass
    try:
        serialization.load_der_private_key(data, password=None)
        return "private_key"
    except TypeError:
        return "private_key"  # password-protected
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        serialization.load_der_public_key(data)
        return "public_key"
    except (ValueError, UnsupportedAlgorithm):
        return "binary"


def credential_file_kind(data: bytes) -> str:
    """What an uploaded credential file is (a key of FOUND), by its content alone."""
    # Binary formats are judged on the bytes as uploaded: a DER signature can end in a byte
    # that strip() takes for whitespace (about one certificate in forty).
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"bplist"):
        return "plist"
    if data[:1] == b"\x30" and (kind := _der_kind(data)) != "binary":
        return kind
    data = data.removeprefix(b"\xef\xbb\xbf").strip()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    # JSON first: a service account holds a PEM key as one of its strings.
    if text.startswith(("{", "[")):
        try:
            return _json_kind(json.loads(text))
        except ValueError:
            return "text"
    if text.startswith("<?xml") or text.startswith("<!DOCTYPE plist") or "<plist" in text[:300]:
        return "google_services_plist" if "GOOGLE_APP_ID" in text else "plist"
    if labels := set(PEM_LABEL_RE.findall(data)):
        kind = _pem_kind(labels)
        if kind == "private_key" and _is_apns_key(data):
            return "apns_key"
        return kind
    printable = all(ch.isprintable() or ch in "\r\n\t" for ch in text[:4096])
    return "text" if printable else "binary"


def _is_apns_key(pem: bytes) -> bool:
    key, _ = _load_private_key(pem)
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def apns_key_id_filename_problem(filename: str, key_id: str) -> str:
    """Apple names a .p8 AuthKey_<key id>.p8: a different key id typed next to it is a slip."""
    match = APNS_KEY_FILENAME_RE.search(filename or "")
    key_id = (key_id or "").strip()
    if match is None or not key_id or match.group(1) == key_id:
        return ""
    return (
        f"this is the APNs key for key id {match.group(1)} (the file is "
        f"AuthKey_{match.group(1)}.p8), but you entered {key_id}"
    )


def _wrong_file(kind: str, expected: str, hints: dict[str, str], default_hint: str) -> str:
    return f"this is {FOUND[kind]}, not {expected}; {hints.get(kind, default_hint)}"


P8_DOWNLOAD = "download the AuthKey_….p8 from Apple Developer → Keys"
P8_HINTS = {
    "certificate": f"token auth needs the key: {P8_DOWNLOAD} (a push certificate goes, with "
    "its private key, as a .p12 under APNs certificate)",
    "cert_and_key": f"token auth needs the key Apple issues: {P8_DOWNLOAD}",
    "csr": P8_DOWNLOAD,
    "public_key": f"the .p8 holds the private key: {P8_DOWNLOAD}",
    "p12": "upload it as an APNs certificate (.p12) instead",
    "service_account": "upload it under Firebase (FCM)",
    "zip": "unzip it and upload the AuthKey_….p8 inside",
}
P8_DEFAULT_HINT = "a .p8 is a text file that starts with -----BEGIN PRIVATE KEY-----"


def _p8_problem(data: bytes, load_problem: str) -> str:
    """Why `data` (which did not load as a private key) is not a .p8."""
    kind = credential_file_kind(data)
    if kind in ("private_key", "apns_key"):
        if "password" in load_problem:
            return load_problem
        return "this looks like a private key but it cannot be read; upload the .p8 unchanged"
    return _wrong_file(kind, "a .p8 key", P8_HINTS, P8_DEFAULT_HINT)


P12_HINTS = {
    "certificate": "a certificate alone cannot sign in to APNs: in Keychain Access select it "
    "with its private key and export both as .p12",
    "cert_and_key": "convert it with: openssl pkcs12 -export -in this.pem -out apns.p12",
    "apns_key": "upload it under APNs auth key (.p8) with its key id and team id",
    "private_key": "in Keychain Access export the push certificate together with this key as .p12",
    "csr": "upload it to Apple Developer, then export the certificate you get, with its key, "
    "as .p12",
    "service_account": "upload it under Firebase (FCM)",
    "zip": "unzip it and upload the .p12 inside",
}
P12_DEFAULT_HINT = (
    "a .p12 is the push certificate with its private key, exported from Keychain Access"
)

FCM_HINTS = {
    "apns_key": "upload it under APNs auth key (.p8)",
    "p12": "an APNs certificate goes under APNs certificate; Firebase needs the JSON key: "
    + FIREBASE_KEY_STEPS,
}
# JSON files that are not a service account: "this JSON is …, not a service account".
FCM_OTHER_JSON = frozenset(
    {
        "google_services_json",
        "firebase_web_config",
        "oauth_client",
        "gcloud_user",
        "external_account",
    }
)


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
            errors.add("key", _p8_problem(data, problem))
        elif not isinstance(key, ec.EllipticCurvePrivateKey):
            errors.add(
                "key", f"this is {_key_label(key)}, not a .p8 key; APNs needs an EC P-256 key"
            )
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


def _p12_problem(data: bytes, password: str) -> str:
    """Why `data` did not open as a .p12 with `password`."""
    kind = credential_file_kind(data)
    if kind == "p12":
        if not password:
            return "this .p12 file is password-protected; enter the password it was exported with"
        return "wrong password for this .p12 file"
    return _wrong_file(kind, "a .p12 file", P12_HINTS, P12_DEFAULT_HINT)


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
        errors.fail("certificate", _p12_problem(data, password))
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
        # With FCM_TOKEN_URI_OVERRIDE set the transport asks the override for tokens and never
        # this file's token_uri, so a local one is harmless (a test stack's simulator).
        if settings.PUSH_SIMULATOR_ENABLED or settings.FCM_TOKEN_URI_OVERRIDE:
            return ""
        return (
            '"token_uri" points at a local simulator, which is only allowed when '
            "PUSH_SIMULATOR_ENABLED is on or FCM_TOKEN_URI_OVERRIDE is set"
        )
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
    kind = credential_file_kind(raw)
    if kind in FCM_OTHER_JSON:
        errors.fail(
            "service_account",
            f"this JSON is {FOUND[kind]}, not a service account; {FIREBASE_KEY_STEPS}",
        )
    if kind not in ("service_account", "json", "text"):
        errors.fail(
            "service_account",
            _wrong_file(kind, "a service-account JSON", FCM_HINTS, FIREBASE_KEY_STEPS),
        )
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError:
        errors.fail("service_account", "not a text file (expected UTF-8 JSON)")
    except json.JSONDecodeError as exc:
        errors.fail(
            "service_account", f"not valid JSON ({exc.msg} at line {exc.lineno} col {exc.colno})"
        )
    if not isinstance(data, dict):
        errors.fail("service_account", "must be a JSON object (the file Firebase downloads)")
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
