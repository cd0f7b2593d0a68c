"""Issue 13 item 6: a wrong credential file is named ("this is a certificate, not a .p8 key")
and the message says where it belongs. Every wrong file is built here with `cryptography`."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.base import CertificateSigningRequestBuilder
from cryptography.x509.name import Name, NameAttribute
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices.credentials import (
    apns_key_id_filename_problem,
    credential_file_kind,
    parse_apns_certificate,
    parse_apns_token,
    parse_fcm_service_account,
)
from devices.models import PushCredential
from tests.factories import MobileAppFactory
from tests.ui_fixtures import (
    KEY_ID,
    TEAM_ID,
    ec_key_pem,
    p12_bytes,
    rsa_key,
    rsa_key_pem,
    self_signed_cert,
    service_account_json,
)


def cert_pem() -> bytes:
    key = rsa_key()
    return self_signed_cert(key).public_bytes(serialization.Encoding.PEM)


def cert_der() -> bytes:
    key = rsa_key()
    return self_signed_cert(key).public_bytes(serialization.Encoding.DER)


def csr_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = Name([NameAttribute(NameOID.COMMON_NAME, "push")])
    csr = CertificateSigningRequestBuilder().subject_name(name).sign(key, _sha256())
    return csr.public_bytes(serialization.Encoding.PEM)


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def public_key_pem() -> bytes:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def google_services_json() -> str:
    return json.dumps(
        {
            "project_info": {"project_number": "123", "project_id": "demo-project"},
            "client": [
                {
                    "client_info": {"mobilesdk_app_id": "1:123:android:abc"},
                    "oauth_client": [{"client_id": "x.apps.googleusercontent.com"}],
                    "api_key": [{"current_key": "AIzaSyDemo"}],
                }
            ],
            "configuration_version": "1",
        }
    )


def firebase_web_config() -> str:
    return json.dumps(
        {
            "apiKey": "AIzaSyDemo",
            "authDomain": "demo-project.firebaseapp.com",
            "projectId": "demo-project",
            "appId": "1:123:web:abc",
        }
    )


def google_service_info_plist() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST '
        b'1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">'
        b"<dict><key>GOOGLE_APP_ID</key><string>1:123:ios:abc</string></dict></plist>\n"
    )


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


GARBAGE = bytes(range(256)) * 4


def p8_error(data: str | bytes) -> str:
    with pytest.raises(ValidationError) as exc:
        parse_apns_token(key_pem=data, key_id=KEY_ID, team_id=TEAM_ID)
    (message,) = exc.value.message_dict["key"]
    return message


def p12_error(data: bytes, password: str = "") -> str:
    with pytest.raises(ValidationError) as exc:
        parse_apns_certificate(p12_bytes=data, password=password)
    (message,) = exc.value.message_dict["certificate"]
    return message


def fcm_error(data: str | bytes) -> str:
    with pytest.raises(ValidationError) as exc:
        parse_fcm_service_account(service_account_json=data)
    (message,) = exc.value.message_dict["service_account"]
    return message


# --- what a file is -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: ec_key_pem().encode(), "apns_key"),
        (lambda: rsa_key_pem().encode(), "private_key"),
        (cert_pem, "certificate"),
        (cert_der, "certificate"),
        (lambda: cert_pem() + rsa_key_pem().encode(), "cert_and_key"),
        (csr_pem, "csr"),
        (public_key_pem, "public_key"),
        (lambda: p12_bytes("pw"), "p12"),
        (lambda: p12_bytes(""), "p12"),
        (lambda: service_account_json().encode(), "service_account"),
        (lambda: google_services_json().encode(), "google_services_json"),
        (lambda: firebase_web_config().encode(), "firebase_web_config"),
        (google_service_info_plist, "google_services_plist"),
        (lambda: b'{"type": "authorized_user", "refresh_token": "x"}', "gcloud_user"),
        (lambda: b'{"web": {"client_id": "x", "client_secret": "y"}}', "oauth_client"),
        (lambda: zip_of("AuthKey_ABC123DEFG.p8", ec_key_pem().encode()), "zip"),
        (lambda: b"0123 is text that starts with a zero", "text"),
        (lambda: GARBAGE, "binary"),
    ],
)
def test_credential_file_kind(make, kind):
    assert credential_file_kind(make()) == kind


# --- .p8 ------------------------------------------------------------------------------------


def test_certificate_uploaded_as_p8_is_named():
    message = p8_error(cert_pem())
    assert message.startswith("this is a certificate, not a .p8 key; token auth needs the key")
    assert "AuthKey_….p8" in message
    assert p8_error(cert_der()).startswith("this is a certificate, not a .p8 key")


def test_p12_uploaded_as_p8_is_sent_to_the_certificate_form():
    assert p8_error(p12_bytes("pw")) == (
        "this is a .p12 bundle, not a .p8 key; upload it as an APNs certificate (.p12) instead"
    )


def test_rsa_key_uploaded_as_p8_is_named():
    assert p8_error(rsa_key_pem()) == (
        "this is an RSA key, not a .p8 key; APNs needs an EC P-256 key"
    )


def test_service_account_uploaded_as_p8_is_sent_to_fcm():
    assert p8_error(service_account_json()) == (
        "this is a Firebase service-account JSON, not a .p8 key; upload it under Firebase (FCM)"
    )


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (csr_pem, "a certificate signing request"),
        (public_key_pem, "a public key"),
        (lambda: zip_of("AuthKey_ABC123DEFG.p8", b"k"), "a zip archive"),
    ],
)
def test_other_wrong_files_uploaded_as_p8_are_named(data, found):
    assert p8_error(data()).startswith(f"this is {found}, not a .p8 key; ")


def test_garbage_and_text_uploaded_as_p8_say_what_a_p8_looks_like():
    expected = "a .p8 is a text file that starts with -----BEGIN PRIVATE KEY-----"
    assert p8_error(GARBAGE) == f"this is a binary file, not a .p8 key; {expected}"
    assert p8_error("hello, I am not a key") == f"this is a text file, not a .p8 key; {expected}"


def test_damaged_pem_key_says_it_cannot_be_read():
    damaged = ec_key_pem().replace("M", "!", 3)
    assert p8_error(damaged) == (
        "this looks like a private key but it cannot be read; upload the .p8 unchanged"
    )


def test_key_id_in_the_file_name_must_match_the_key_id_entered():
    assert apns_key_id_filename_problem("AuthKey_ABC123DEFG.p8", "ZZZ9998887") == (
        "this is the APNs key for key id ABC123DEFG (the file is AuthKey_ABC123DEFG.p8), "
        "but you entered ZZZ9998887"
    )
    # Browsers rename a second download "AuthKey_ABC123DEFG (1).p8".
    assert apns_key_id_filename_problem("AuthKey_ABC123DEFG (1).p8", "ZZZ9998887")
    assert apns_key_id_filename_problem("AuthKey_ABC123DEFG.p8", "ABC123DEFG") == ""
    assert apns_key_id_filename_problem("my-key.p8", "ZZZ9998887") == ""


@pytest.mark.django_db
def test_key_id_mismatch_is_shown_on_the_upload_form(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-credential-apns-token", args=[app.pk]),
        {
            "key": SimpleUploadedFile("AuthKey_ABC123DEFG.p8", ec_key_pem().encode()),
            "key_id": "ZZZ9998887",
            "team_id": TEAM_ID,
        },
    )
    assert response.status_code == 400
    assert "this is the APNs key for key id ABC123DEFG" in response.content.decode()
    assert not PushCredential.objects.exists()


@pytest.mark.django_db
def test_certificate_uploaded_as_p8_through_the_page(admin_client):
    app = MobileAppFactory()
    response = admin_client.post(
        reverse("app-credential-apns-token", args=[app.pk]),
        {
            "key": SimpleUploadedFile("aps.cer", cert_der()),
            "key_id": KEY_ID,
            "team_id": TEAM_ID,
        },
    )
    assert response.status_code == 400
    assert "this is a certificate, not a .p8 key" in response.content.decode()


# --- .p12 -----------------------------------------------------------------------------------


def test_p12_wrong_or_missing_password_is_said_as_such():
    assert p12_error(p12_bytes("right"), "wrong") == "wrong password for this .p12 file"
    assert p12_error(p12_bytes("right"), "") == (
        "this .p12 file is password-protected; enter the password it was exported with"
    )


@pytest.mark.parametrize("last_byte", [b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c"])
def test_der_ending_in_a_whitespace_byte_is_still_a_certificate(last_byte):
    # A DER signature ends in any byte; about one certificate in forty ends in one that
    # bytes.strip() removes. (The parser does not check the signature, so the byte is set.)
    der = cert_der()[:-1] + last_byte
    assert credential_file_kind(der) == "certificate"
    assert p12_error(der).startswith("this is a certificate, not a .p12 file; ")


def test_certificate_without_key_uploaded_as_p12_is_named():
    message = p12_error(cert_der())
    assert message.startswith("this is a certificate, not a .p12 file; ")
    assert "with its private key and export both as .p12" in message
    assert p12_error(cert_pem()).startswith("this is a certificate, not a .p12 file; ")


def test_p8_uploaded_as_p12_is_sent_to_the_key_form():
    assert p12_error(ec_key_pem().encode()) == (
        "this is an APNs auth key (.p8), not a .p12 file; upload it under APNs auth key (.p8) "
        "with its key id and team id"
    )


def test_pem_with_certificate_and_key_uploaded_as_p12_says_how_to_convert():
    message = p12_error(cert_pem() + rsa_key_pem().encode())
    assert message.startswith("this is a PEM file holding a certificate and its private key")
    assert "openssl pkcs12 -export" in message


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (lambda: service_account_json().encode(), "a Firebase service-account JSON"),
        (lambda: zip_of("cert.p12", b"x"), "a zip archive"),
        (lambda: GARBAGE, "a binary file"),
        (lambda: rsa_key_pem().encode(), "a private key"),
    ],
)
def test_other_wrong_files_uploaded_as_p12_are_named(data, found):
    assert p12_error(data()).startswith(f"this is {found}, not a .p12 file; ")


# --- FCM ------------------------------------------------------------------------------------


STEPS = (
    "in the Firebase console open Project settings → Service accounts → Generate new private key"
)


def test_google_services_json_is_named_as_a_client_config():
    assert fcm_error(google_services_json()) == (
        "this JSON is a client config (google-services.json, which goes in the Android app), "
        f"not a service account; {STEPS}"
    )


def test_firebase_web_config_is_named():
    assert fcm_error(firebase_web_config()) == (
        "this JSON is a web-client config (a Firebase web app's firebaseConfig), "
        f"not a service account; {STEPS}"
    )


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ('{"type": "authorized_user", "client_id": "x"}', "a gcloud user credential"),
        ('{"installed": {"client_id": "x"}}', "an OAuth client secret"),
        ('{"type": "external_account", "audience": "x"}', "a workload identity federation"),
    ],
)
def test_other_google_json_files_are_named(data, found):
    message = fcm_error(data)
    assert message.startswith(f"this JSON is {found}")
    assert message.endswith(f"not a service account; {STEPS}")


def test_ios_config_plist_is_named():
    assert fcm_error(google_service_info_plist()) == (
        "this is a client config (GoogleService-Info.plist, which goes in the iOS app), "
        f"not a service-account JSON; {STEPS}"
    )


def test_apns_files_uploaded_as_service_account_are_sent_to_apns():
    assert fcm_error(ec_key_pem()) == (
        "this is an APNs auth key (.p8), not a service-account JSON; "
        "upload it under APNs auth key (.p8)"
    )
    assert fcm_error(p12_bytes("pw")).startswith(
        "this is a .p12 bundle, not a service-account JSON; an APNs certificate goes under"
    )
    assert fcm_error(cert_pem()) == (f"this is a certificate, not a service-account JSON; {STEPS}")


def test_garbage_uploaded_as_service_account_is_named():
    assert fcm_error(GARBAGE) == f"this is a binary file, not a service-account JSON; {STEPS}"
