from __future__ import annotations

import json

import pytest

from devices.models import PushCredential
from notifications.transports.config import TransportConfig, transport_config_from
from pushmarketing.core.secrets import encrypt_bytes
from tests.factories import MobileAppFactory

SERVICE_ACCOUNT = {"type": "service_account", "project_id": "proj-1", "client_email": "a@b"}


def credential(app, **fields) -> PushCredential:
    return PushCredential.objects.create(app=app, **fields)


@pytest.mark.django_db
def test_fcm_config_reads_the_secret_and_endpoints_without_queries(
    settings, django_assert_num_queries
):
    settings.FCM_BASE_URL = "http://127.0.0.1:9/"
    settings.FCM_TOKEN_URI_OVERRIDE = "http://127.0.0.1:9/token"
    settings.PUSH_SEND_CONCURRENCY = 50
    app = MobileAppFactory(android_package="com.example.shop")
    row = credential(
        app,
        platform="android",
        kind="fcm_service_account",
        secret_encrypted=encrypt_bytes(json.dumps(SERVICE_ACCOUNT).encode()),
        public_meta={"project_id": "proj-1", "client_email": "a@b"},
        version=3,
    )

    with django_assert_num_queries(0):
        config = transport_config_from(row, app)

    assert (config.app_id, config.platform, config.version) == (app.pk, "android", 3)
    assert json.loads(config.secret) == SERVICE_ACCOUNT
    assert config.project_id == "proj-1"
    assert config.fcm_base_url == "http://127.0.0.1:9"
    assert config.fcm_token_uri_override == "http://127.0.0.1:9/token"
    assert config.concurrency == 50
    assert json.dumps(SERVICE_ACCOUNT) not in repr(config)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_type", "host"), [("sandbox", "sb.local"), ("production", "pr.local")]
)
def test_apns_config_picks_the_host_for_the_app_type(settings, app_type, host):
    settings.APNS_HOST_SANDBOX = "sb.local"
    settings.APNS_HOST_PRODUCTION = "pr.local"
    settings.APNS_PORT = 2197
    settings.APNS_CA_FILE = "/tmp/ca.pem"
    app = MobileAppFactory(app_type=app_type, ios_bundle_id="com.example.shop")
    row = credential(
        app,
        platform="ios",
        kind="apns_token",
        secret_encrypted=encrypt_bytes(b"-----BEGIN PRIVATE KEY-----\nx\n"),
        public_meta={"key_id": "KEY1234567", "team_id": "TEAM123456"},
    )

    config = transport_config_from(row, app)

    assert config.is_apns
    assert (config.key_id, config.team_id, config.topic) == ("KEY1234567", "TEAM123456",
                                                             "com.example.shop")  # fmt: skip
    assert config.use_sandbox is (app_type == "sandbox")
    assert (config.apns_host, config.apns_port, config.apns_ca_file) == (host, 2197, "/tmp/ca.pem")
    assert "PRIVATE KEY" not in repr(config)


def test_config_rejects_an_unknown_kind_naming_the_field():
    with pytest.raises(ValueError, match="kind: must be one of"):
        TransportConfig(app_id=1, platform="ios", version=1, kind="smoke_signal", secret="")


def test_config_rejects_zero_concurrency():
    with pytest.raises(ValueError, match="concurrency: must be at least 1"):
        TransportConfig(
            app_id=1, platform="ios", version=1, kind="apns_token", secret="", concurrency=0
        )
