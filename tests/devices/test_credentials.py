from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError
from django.db import connection

from devices.credentials import (
    MAX_CREDENTIAL_BYTES,
    credential_certificate_topic_mismatch,
    credential_upload_apns_certificate,
    credential_upload_apns_token,
    credential_upload_fcm,
    parse_apns_certificate,
    parse_apns_token,
    parse_fcm_service_account,
)
from devices.models import PushCredential
from pushmarketing.core.models import AuditEntry
from pushmarketing.core.secrets import decrypt_bytes
from tests.factories import MobileAppFactory
from tests.ui_fixtures import (
    KEY_ID,
    TEAM_ID,
    ec_key_pem,
    p12_bytes,
    rsa_key_pem,
    service_account,
    service_account_json,
)


def errors_of(exc_info: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc_info.value.message_dict


# --- .p8 ------------------------------------------------------------------------------------


def test_p8_p256_key_is_accepted_and_normalised():
    parsed = parse_apns_token(key_pem=ec_key_pem(), key_id=KEY_ID, team_id=TEAM_ID)
    assert parsed.platform == "ios"
    assert parsed.kind == PushCredential.Kind.APNS_TOKEN
    assert parsed.public_meta == {"key_id": KEY_ID, "team_id": TEAM_ID}
    key = serialization.load_pem_private_key(parsed.secret_text.encode(), password=None)
    assert isinstance(key.curve, ec.SECP256R1)


def test_p8_with_byte_order_mark_and_crlf_is_accepted():
    pem = "\ufeff" + ec_key_pem().replace("\n", "\r\n")
    assert parse_apns_token(key_pem=pem.encode(), key_id=KEY_ID, team_id=TEAM_ID).secret_text


def test_p8_with_p384_curve_is_refused_naming_the_curve():
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem=ec_key_pem(ec.SECP384R1()), key_id=KEY_ID, team_id=TEAM_ID)
    assert errors_of(exc) == {"key": ["wrong curve (P-384); APNs needs P-256"]}


def test_p8_that_is_not_pem_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem="hello, I am not a key", key_id=KEY_ID, team_id=TEAM_ID)
    assert errors_of(exc) == {
        "key": [
            "this is a text file, not a .p8 key; "
            "a .p8 is a text file that starts with -----BEGIN PRIVATE KEY-----"
        ]
    }


def test_p8_with_rsa_key_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem=rsa_key_pem(), key_id=KEY_ID, team_id=TEAM_ID)
    assert errors_of(exc) == {
        "key": ["this is an RSA key, not a .p8 key; APNs needs an EC P-256 key"]
    }


def test_password_protected_p8_is_refused():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem=pem, key_id=KEY_ID, team_id=TEAM_ID)
    assert "password-protected" in errors_of(exc)["key"][0]


@pytest.mark.parametrize("bad_id", ["ABC123", "abc123defg", "ABC123DEFGH", "ABC 123DEF", ""])
def test_key_id_and_team_id_must_be_ten_uppercase_alphanumerics(bad_id):
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem=ec_key_pem(), key_id=bad_id, team_id=bad_id)
    assert errors_of(exc) == {
        "key_id": ["key id must be exactly 10 characters, A-Z and 0-9"],
        "team_id": ["team id must be exactly 10 characters, A-Z and 0-9"],
    }


def test_empty_and_oversize_key_files_are_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem="  ", key_id=KEY_ID, team_id=TEAM_ID)
    assert errors_of(exc) == {"key": ["the .p8 key file is empty"]}
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem="x" * (MAX_CREDENTIAL_BYTES + 1), key_id=KEY_ID, team_id=TEAM_ID)
    assert "too large" in errors_of(exc)["key"][0]


# --- .p12 -----------------------------------------------------------------------------------


def test_p12_is_converted_to_one_pem_with_certificate_and_key():
    parsed = parse_apns_certificate(p12_bytes=p12_bytes("s3cret"), password="s3cret")
    assert parsed.kind == PushCredential.Kind.APNS_CERTIFICATE
    assert parsed.secret_text.index("BEGIN CERTIFICATE") < parsed.secret_text.index(
        "BEGIN PRIVATE KEY"
    )
    assert parsed.public_meta["topic"] == "com.example.shop"
    assert "CN=Apple Push Services" in parsed.public_meta["subject"]
    assert datetime.fromisoformat(parsed.public_meta["expires_at"]) > datetime.now(UTC)
    serialization.load_pem_private_key(parsed.secret_text.encode(), password=None)


def test_p12_pem_loads_into_an_ssl_context(tmp_path):
    # aioapns hands the PEM to ssl.load_cert_chain: prove that works.
    import ssl

    parsed = parse_apns_certificate(p12_bytes=p12_bytes("pw"), password="pw")
    pem = tmp_path / "client.pem"
    pem.write_text(parsed.secret_text)
    ssl.create_default_context().load_cert_chain(str(pem))


def test_p12_password_with_spaces_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=p12_bytes("my pass"), password="my pass")
    assert errors_of(exc) == {"password": ["password must not contain spaces"]}


def test_p12_wrong_password_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=p12_bytes("right"), password="wrong")
    assert errors_of(exc) == {"certificate": ["wrong password for this .p12 file"]}


def test_not_a_p12_file_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=b"PK\x03\x04 zip file", password="")
    assert errors_of(exc)["certificate"][0].startswith("this is a zip archive, not a .p12 file")


def test_expired_certificate_is_refused_with_its_date():
    expired = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    data = p12_bytes("pw", not_before=expired - timedelta(days=365), not_after=expired)
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=data, password="pw")
    assert errors_of(exc) == {"certificate": ["the certificate expired on 2025-03-01 12:00 UTC"]}


def test_p12_without_a_private_key_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=p12_bytes("pw", without_key=True), password="pw")
    assert errors_of(exc) == {
        "certificate": ["the .p12 holds no private key; export it with its key"]
    }


def test_p12_without_password_is_accepted_and_topic_may_be_absent():
    parsed = parse_apns_certificate(p12_bytes=p12_bytes("", uid=None), password="")
    assert parsed.public_meta["topic"] == ""


# --- FCM service account --------------------------------------------------------------------


def test_valid_service_account_keeps_only_safe_fields_public():
    parsed = parse_fcm_service_account(service_account_json=service_account_json())
    assert parsed.public_meta == {
        "project_id": "demo-project",
        "client_email": "push@demo-project.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    assert json.loads(parsed.secret_text)["private_key"].startswith("-----BEGIN PRIVATE KEY")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON (Expecting property name enclosed in double quotes"),
        ("[1, 2]", "must be a JSON object (the file Firebase downloads)"),
        (b"\xff\xfe\x00", "this is a binary file, not a service-account JSON"),
        ("", "the service-account file is empty"),
    ],
)
def test_service_account_that_is_not_a_json_object_is_refused(raw, message):
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=raw)
    assert errors_of(exc)["service_account"][0].startswith(message)


def test_each_missing_key_is_named():
    raw = service_account_json(project_id=None, private_key=None, token_uri="")
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=raw)
    assert errors_of(exc) == {
        "service_account": ['missing "project_id"', 'missing "private_key"', 'missing "token_uri"']
    }


def test_wrong_type_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=service_account_json(type="user"))
    assert errors_of(exc) == {"service_account": ['"type" must be "service_account" (got "user")']}


def test_unparseable_and_non_rsa_private_keys_are_refused():
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=service_account_json(private_key="nope"))
    assert errors_of(exc) == {"service_account": ['"private_key" is not a PEM private key']}
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(
            service_account_json=service_account_json(private_key=ec_key_pem())
        )
    assert errors_of(exc) == {
        "service_account": ['"private_key" is an EC key; Google signs with RSA']
    }


def test_bad_project_id_and_client_email_are_named():
    raw = service_account_json(project_id="a/b", client_email="nobody")
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=raw)
    assert errors_of(exc) == {
        "service_account": [
            '"project_id" must be letters, digits and hyphens',
            '"client_email" must be an email address',
        ]
    }


@pytest.mark.parametrize(
    "uri", ["ftp://example.com/token", "http://oauth2.googleapis.com/token", "token"]
)
def test_token_uri_must_be_https(uri):
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=service_account_json(token_uri=uri))
    assert errors_of(exc) == {"service_account": ['"token_uri" must be an https URL']}


def test_loopback_token_uri_only_with_the_simulator_or_the_override(settings):
    raw = service_account_json(token_uri="http://127.0.0.1:8701/token")
    settings.PUSH_SIMULATOR_ENABLED = True
    settings.FCM_TOKEN_URI_OVERRIDE = ""
    assert (
        parse_fcm_service_account(service_account_json=raw)
        .public_meta["token_uri"]
        .startswith("http://127.0.0.1")
    )
    settings.PUSH_SIMULATOR_ENABLED = False
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=raw)
    assert errors_of(exc)["service_account"] == [
        '"token_uri" points at a local simulator, which is only allowed when '
        "PUSH_SIMULATOR_ENABLED is on or FCM_TOKEN_URI_OVERRIDE is set"
    ]


def test_loopback_token_uri_accepted_with_the_override_and_the_simulator_off(settings):
    settings.PUSH_SIMULATOR_ENABLED = False
    settings.FCM_TOKEN_URI_OVERRIDE = "http://127.0.0.1:9701/token"
    raw = service_account_json(token_uri="http://127.0.0.1:8701/token")

    parsed = parse_fcm_service_account(service_account_json=raw)

    assert parsed.public_meta["token_uri"] == "http://127.0.0.1:8701/token"


# --- storing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_encrypts_at_rest_and_audits_without_the_secret(admin_user, caplog):
    caplog.set_level(logging.INFO, logger="devices.credentials")
    app = MobileAppFactory()
    raw = service_account_json()
    private_key = json.loads(raw)["private_key"]
    credential = credential_upload_fcm(app=app, service_account_json=raw, actor=admin_user)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_encrypted FROM devices_pushcredential WHERE id = %s", [credential.pk]
        )
        (stored,) = cursor.fetchone()
    assert "PRIVATE KEY" not in stored and "demo-project" not in stored
    assert decrypt_bytes(stored).decode() == raw
    entry = AuditEntry.objects.get(action="credential.uploaded")
    assert entry.actor == admin_user
    assert "PRIVATE KEY" not in json.dumps(entry.details) + entry.summary
    assert entry.details["public_meta"]["project_id"] == "demo-project"
    assert private_key[40:80] not in json.dumps(entry.details)
    assert f"credentials: app {app.pk} android fcm_service_account uploaded (version 1)" in (
        caplog.messages
    )
    assert "PRIVATE KEY" not in caplog.text


@pytest.mark.django_db
def test_reupload_replaces_the_credential_bumps_version_and_resets_verification(admin_user):
    app = MobileAppFactory()
    first = credential_upload_apns_token(
        app=app, key_pem=ec_key_pem(), key_id=KEY_ID, team_id=TEAM_ID, actor=admin_user
    )
    PushCredential.objects.filter(pk=first.pk).update(
        verification=PushCredential.Verification.VERIFIED, verification_reason="ok"
    )
    second = credential_upload_apns_certificate(
        app=app, p12_bytes=p12_bytes("pw"), password="pw", actor=admin_user
    )
    assert second.pk == first.pk
    assert second.version == 2
    assert second.kind == PushCredential.Kind.APNS_CERTIFICATE
    assert second.verification == PushCredential.Verification.UNVERIFIED
    assert second.verification_reason == ""
    assert PushCredential.objects.filter(app=app).count() == 1
    assert "BEGIN CERTIFICATE" in decrypt_bytes(second.secret_encrypted).decode()


@pytest.mark.django_db
def test_invalid_upload_writes_nothing(admin_user):
    app = MobileAppFactory()
    with pytest.raises(ValidationError):
        credential_upload_fcm(
            app=app, service_account_json=service_account_json(type="x"), actor=admin_user
        )
    assert not PushCredential.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_platforms_are_stored_separately_and_apps_are_isolated(admin_user):
    app, other = MobileAppFactory(), MobileAppFactory()
    credential_upload_fcm(app=app, service_account_json=service_account_json(), actor=admin_user)
    credential_upload_apns_token(
        app=app, key_pem=ec_key_pem(), key_id=KEY_ID, team_id=TEAM_ID, actor=admin_user
    )
    assert set(app.credentials.values_list("platform", flat=True)) == {"ios", "android"}
    assert not other.credentials.exists()


@pytest.mark.django_db
def test_certificate_topic_mismatch_is_a_warning(admin_user):
    app = MobileAppFactory(ios_bundle_id="com.example.other")
    credential = credential_upload_apns_certificate(
        app=app, p12_bytes=p12_bytes("pw"), password="pw", actor=admin_user
    )
    assert credential_certificate_topic_mismatch(credential) == (
        "the certificate is for com.example.shop, but the app's iOS bundle id is com.example.other"
    )
    app.ios_bundle_id = "com.example.shop"
    assert credential_certificate_topic_mismatch(credential) == ""


def test_service_account_helper_really_drops_keys():
    # Guards the fixture the missing-key tests rely on.
    assert "project_id" not in service_account(project_id=None)


def test_p12_with_legacy_keychain_encryption_is_accepted():
    # macOS Keychain exports .p12 files with 3DES and SHA-1, not the modern AES default.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12

    from tests.ui_fixtures import rsa_key, self_signed_cert

    key = rsa_key()
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(b"keychain")
    )
    data = pkcs12.serialize_key_and_certificates(
        b"push", key, self_signed_cert(key), None, encryption
    )
    parsed = parse_apns_certificate(p12_bytes=data, password="keychain")
    assert parsed.public_meta["topic"] == "com.example.shop"
