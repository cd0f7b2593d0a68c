"""The simulator's keyring: demo credentials the simulator trusts, generated once per directory.

`demo_credentials(directory)` returns (creating on first use) an APNs auth key (.p8 PEM, key id,
team id), an APNs client certificate (.p12 with password and the PEM cert+key the app stores),
an RSA Firebase service account JSON whose `token_uri` points at the simulator, and the test CA
that signed the simulator's TLS certificate. The simulator loads the public halves from the same
directory (`keyring.json`), so anything not generated here is rejected like a wrong key."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings

APNS_KEY_ID = "SIMKEY0001"
APNS_TEAM_ID = "SIMTEAM001"
FCM_PROJECT_ID = "pm-simulator"
FCM_CLIENT_EMAIL = "pushmarketing@pm-simulator.iam.gserviceaccount.com"
DEMO_TOPIC = "com.example.pushdemo"
CLIENT_P12_PASSWORD = "simulator"  # noqa: S105 - protects the throwaway demo certificate
KEYRING_FILE = "keyring.json"
# Bumped when the files' layout changes so old directories are regenerated.
KEYRING_FORMAT = 1


@dataclass(frozen=True)
class DemoCredentials:
    directory: Path
    apns_key_pem: str
    apns_key_id: str
    apns_team_id: str
    apns_topic: str
    client_p12: bytes
    client_p12_password: str
    client_pem: str  # certificate + private key, what PushCredential stores for .p12 uploads
    fcm_service_account_json: str
    fcm_project_id: str
    ca_file: Path
    server_cert_file: Path
    server_key_file: Path

    def fcm_service_account(self, *, token_uri: str | None = None) -> str:
        """The service-account JSON, optionally pointing at another token endpoint (tests bind
        the simulator to a free port)."""
        info = json.loads(self.fcm_service_account_json)
        if token_uri:
            info["token_uri"] = token_uri
        return json.dumps(info)


def _pem_private(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pem_public(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Atomic and 0600: two processes may create the keyring at the same time."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _certificate(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: x509.Name,
    signing_key: CertificateIssuerPrivateKeyTypes,
    *,
    ca: bool,
    san: list[x509.GeneralName] | None = None,
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if not ca:
        usage = x509.oid.ExtendedKeyUsageOID
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([usage.CLIENT_AUTH if client else usage.SERVER_AUTH]),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


def _generate(directory: Path, token_uri: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PushMarketing Simulator CA")])
    ca_cert = _certificate(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
        server_key.public_key(),
        ca_name,
        ca_key,
        ca=False,
        san=[
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ],
    )

    client_key = ec.generate_private_key(ec.SECP256R1())
    client_name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, DEMO_TOPIC),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {DEMO_TOPIC}"),
        ]
    )
    client_cert = _certificate(
        client_name, client_key.public_key(), ca_name, ca_key, ca=False, client=True
    )
    pem = serialization.Encoding.PEM
    client_p12 = pkcs12.serialize_key_and_certificates(
        b"pushmarketing-demo",
        client_key,
        client_cert,
        None,
        serialization.BestAvailableEncryption(CLIENT_P12_PASSWORD.encode()),
    )

    apns_key = ec.generate_private_key(ec.SECP256R1())
    fcm_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_key_id = os.urandom(20).hex()
    service_account = {
        "type": "service_account",
        "project_id": FCM_PROJECT_ID,
        "private_key_id": private_key_id,
        "private_key": _pem_private(fcm_key),
        "client_email": FCM_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }

    _write_private(directory / "ca.pem", ca_cert.public_bytes(pem))
    _write_private(directory / "server.pem", server_cert.public_bytes(pem))
    _write_private(directory / "server.key", _pem_private(server_key).encode())
    _write_private(
        directory / "apns-client.pem",
        client_cert.public_bytes(pem) + _pem_private(client_key).encode(),
    )
    _write_private(directory / "apns-client.p12", client_p12)
    _write_private(directory / f"AuthKey_{APNS_KEY_ID}.p8", _pem_private(apns_key).encode())
    _write_private(directory / "fcm-service-account.json", json.dumps(service_account).encode())
    keyring = {
        "format": KEYRING_FORMAT,
        "apns_keys": [
            {"key_id": APNS_KEY_ID, "team_id": APNS_TEAM_ID, "public_pem": _pem_public(apns_key)}
        ],
        "fcm_accounts": [
            {
                "client_email": FCM_CLIENT_EMAIL,
                "private_key_id": private_key_id,
                "project_id": FCM_PROJECT_ID,
                "public_pem": _pem_public(fcm_key),
            }
        ],
    }
    # Written last: its presence means the directory is complete.
    _write_private(directory / KEYRING_FILE, json.dumps(keyring, indent=2).encode())


def default_token_uri() -> str:
    return f"http://{settings.PUSH_SIMULATOR_HOST}:{settings.PUSH_SIMULATOR_FCM_PORT}/token"


def load_keyring(directory: Path | str) -> dict:
    return json.loads((Path(directory) / KEYRING_FILE).read_text())


def demo_credentials(directory: Path | str, *, token_uri: str | None = None) -> DemoCredentials:
    directory = Path(directory)
    keyring_path = directory / KEYRING_FILE
    fresh = keyring_path.exists() and load_keyring(directory).get("format") == KEYRING_FORMAT
    if not fresh:
        _generate(directory, token_uri or default_token_uri())
    return DemoCredentials(
        directory=directory,
        apns_key_pem=(directory / f"AuthKey_{APNS_KEY_ID}.p8").read_text(),
        apns_key_id=APNS_KEY_ID,
        apns_team_id=APNS_TEAM_ID,
        apns_topic=DEMO_TOPIC,
        client_p12=(directory / "apns-client.p12").read_bytes(),
        client_p12_password=CLIENT_P12_PASSWORD,
        client_pem=(directory / "apns-client.pem").read_text(),
        fcm_service_account_json=(directory / "fcm-service-account.json").read_text(),
        fcm_project_id=FCM_PROJECT_ID,
        ca_file=directory / "ca.pem",
        server_cert_file=directory / "server.pem",
        server_key_file=directory / "server.key",
    )
