"""Real credential files generated with `cryptography` for the credential and app tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"


def ec_key_pem(curve: ec.EllipticCurve | None = None) -> str:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_key_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    return (
        (key or rsa_key())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def self_signed_cert(
    key: Any,
    *,
    uid: str | None = "com.example.shop",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.shop")]
    if uid:
        attributes.append(x509.NameAttribute(NameOID.USER_ID, uid))
    name = x509.Name(attributes)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def p12_bytes(
    password: str = "s3cret",
    *,
    uid: str | None = "com.example.shop",
    not_after: datetime | None = None,
    not_before: datetime | None = None,
    without_key: bool = False,
) -> bytes:
    key = rsa_key()
    cert = self_signed_cert(key, uid=uid, not_after=not_after, not_before=not_before)
    stored_key = None if without_key else key
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"push", stored_key, cert, None, encryption)


def service_account(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef",
        "private_key": rsa_key_pem(),
        "client_email": "push@demo-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def service_account_json(**overrides: Any) -> str:
    return json.dumps(service_account(**overrides))
