from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import pytest

from notifications.content import PushContent, RenderedText
from notifications.payloads import PushIds, fcm_message
from notifications.simulator import client as sim_client
from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush
from notifications.transports.fcm import FcmTransport, classify_fcm_answer, retry_after_seconds

pytest_plugins = ["tests.simulator_fixtures"]

CONTENT = PushContent(message="Hi", title="Sale", custom_data={"coupon": "X1"})


def fcm_push(token: str, delivery_id: int = 1, **content_changes: object) -> OutgoingPush:
    content = replace(CONTENT, **content_changes)
    text = RenderedText(title=content.title, subtitle="", body=content.message, tap_uri="")
    ids = PushIds(delivery_id=delivery_id, notification_id=7, run_id=3)
    return OutgoingPush(delivery_id, token, fcm_message(content, text, ids, token))


def test_success_is_sent_with_message_name_and_reaches_the_virtual_device(
    push_simulator, fcm_config
):
    [result] = runtime.send_many(fcm_config(), [fcm_push("tok-ok-00000001")])

    assert result.outcome == Outcome.SENT
    assert result.provider_id.startswith("projects/pm-simulator/messages/")
    [receipt] = sim_client.receipts("tok-ok-00000001")
    assert receipt["message"]["data"]["coupon"] == "X1"
    assert receipt["message"]["data"]["pm_delivery_id"] == "1"
    assert receipt["message"]["notification"]["title"] == "Sale"


def test_many_sends_share_one_access_token(fcm_config):
    pushes = [fcm_push(f"tok-many-{i:05d}", i) for i in range(50)]

    results = runtime.send_many(fcm_config(), pushes)

    assert [r.outcome for r in results] == [Outcome.SENT] * 50
    stats = sim_client.stats()
    assert stats["access_tokens_issued"] == 1
    assert stats["fcm"]["200"] == 50


@pytest.mark.parametrize(
    ("token", "reason_part"),
    [
        ("tok-unregistered-1", "404 UNREGISTERED"),
        ("deadbeef-token", "404 UNREGISTERED"),
        ("tok-mismatch-1", "403 SENDER_ID_MISMATCH"),
        ("tok-badtoken-1", "400 INVALID_ARGUMENT"),
    ],
)
def test_dead_tokens_are_token_invalid(fcm_config, token, reason_part):
    [result] = runtime.send_many(fcm_config(), [fcm_push(token)])

    assert result.outcome == Outcome.TOKEN_INVALID
    assert reason_part in result.reason
    assert not result.credentials_rejected
    assert sim_client.receipts(token) == []


def test_payload_too_large_fails_without_retry(fcm_config):
    push = fcm_push("tok-big-0001", custom_data={"blob": "x" * 5000})

    [result] = runtime.send_many(fcm_config(), [push])

    assert result.outcome == Outcome.FAILED
    assert "too big" in result.reason
    assert result.retry_after is None


def test_non_string_data_value_is_another_400_failure(fcm_config):
    push = fcm_push("tok-int-0001")
    push.body["data"]["count"] = 3

    [result] = runtime.send_many(fcm_config(), [push])

    assert result.outcome == Outcome.FAILED
    assert "message.data[count]" in result.reason


def test_third_party_auth_error_rejects_credentials(fcm_config):
    [result] = runtime.send_many(fcm_config(), [fcm_push("tok-authfail-1")])

    assert result.outcome == Outcome.FAILED
    assert result.credentials_rejected


def test_service_account_with_unknown_key_is_rejected(fcm_config):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    config = fcm_config()
    info = json.loads(config.secret)
    info["private_key"] = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    bad = replace(config, app_id=99, secret=json.dumps(info))

    [result] = runtime.send_many(bad, [fcm_push("tok-ok-badkey")])

    assert result.outcome == Outcome.FAILED
    assert result.credentials_rejected
    assert "service account rejected" in result.reason
    assert sim_client.stats()["access_tokens_issued"] == 0


def test_wrong_project_is_permission_denied(fcm_config):
    config = fcm_config()
    info = json.loads(config.secret)
    info["project_id"] = "someone-elses-project"
    config = replace(config, secret=json.dumps(info), project_id="someone-elses-project")

    [result] = runtime.send_many(config, [fcm_push("tok-ok-proj")])

    assert result.outcome == Outcome.FAILED
    assert result.credentials_rejected
    assert "PERMISSION_DENIED" in result.reason


def test_quota_exceeded_retries_after_the_retry_after_header(fcm_config):
    sim_client.configure(retry_after_seconds=7)

    [result] = runtime.send_many(fcm_config(), [fcm_push("tok-ratelimit-1")])

    assert result.outcome == Outcome.RETRY
    assert result.retry_after == 7
    assert "429 QUOTA_EXCEEDED" in result.reason


@pytest.mark.parametrize(
    ("token", "status"), [("tok-internal-1", "500 INTERNAL"), ("tok-unavailable-1", "503")]
)
def test_server_errors_retry_with_a_delay(fcm_config, token, status):
    [result] = runtime.send_many(fcm_config(), [fcm_push(token)])

    assert result.outcome == Outcome.RETRY
    assert status in result.reason
    assert result.retry_after is not None and result.retry_after > 0


def test_timeout_retries_without_holding_up_other_sends(fcm_config):
    sim_client.configure(slow_latency_ms=6000)
    config = fcm_config(timeout_seconds=0.5)
    pushes = [fcm_push("tok-slow-1", 1)] + [fcm_push(f"tok-fast-{i}", i + 2) for i in range(20)]

    started = time.monotonic()
    results = runtime.send_many(config, pushes)
    elapsed = time.monotonic() - started

    assert results[0].outcome == Outcome.RETRY
    assert results[0].reason == "timeout"
    assert [r.outcome for r in results[1:]] == [Outcome.SENT] * 20
    assert elapsed < 5


def test_connection_refused_is_retry(fcm_config):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    config = fcm_config(fcm_base_url=f"http://127.0.0.1:{free_port}")

    [result] = runtime.send_many(config, [fcm_push("tok-ok-refused")])

    assert result.outcome == Outcome.RETRY
    assert "connection error" in result.reason


def test_unreachable_token_endpoint_is_retry(fcm_config):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    config = fcm_config(fcm_token_uri_override=f"http://127.0.0.1:{free_port}/token", app_id=43)

    [result] = runtime.send_many(config, [fcm_push("tok-ok-notoken")])

    assert result.outcome == Outcome.RETRY
    assert not result.credentials_rejected
    assert "token endpoint unreachable" in result.reason


def test_validate_only_checks_without_delivering(fcm_config):
    config = fcm_config()

    ok, bad = runtime.send_many(
        config,
        [fcm_push("tok-ok-validate"), fcm_push("tok-unregistered-v", 2)],
        validate_only=True,
    )

    assert ok.outcome == Outcome.SENT
    assert ok.provider_id.endswith("/fake_message_id")
    assert bad.outcome == Outcome.TOKEN_INVALID
    assert sim_client.receipts("tok-ok-validate") == []


def test_client_is_rebuilt_when_the_credential_version_changes(fcm_config):
    config = fcm_config(app_id=41)
    runtime.send_many(config, [fcm_push("tok-ok-v1")])
    first = runtime.transport_for(config)
    assert runtime.transport_for(config) is first

    second = runtime.transport_for(replace(config, version=2))
    [result] = runtime.send_many(replace(config, version=2), [fcm_push("tok-ok-v2")])

    assert second is not first
    assert isinstance(second, FcmTransport)
    assert result.outcome == Outcome.SENT
    assert first._session is None  # the old client was closed in the background


def test_expired_access_token_is_refreshed_before_use(fcm_config):
    config = fcm_config(app_id=42)
    runtime.send_many(config, [fcm_push("tok-ok-a")])
    transport = runtime.transport_for(config)
    # Pretend the token is about to expire: the next send mints a new one first.
    transport._token_expires_at = time.time() + 10

    [result] = runtime.send_many(config, [fcm_push("tok-ok-b")])

    assert result.outcome == Outcome.SENT
    assert sim_client.stats()["access_tokens_issued"] == 2


def test_revoked_access_token_is_replaced_once_for_all_concurrent_sends(fcm_config):
    config = fcm_config(app_id=44)
    runtime.send_many(config, [fcm_push("tok-ok-before")])
    sim_client.reset()  # revokes every access token the simulator issued

    results = runtime.send_many(config, [fcm_push(f"tok-ok-after-{i}", i) for i in range(30)])

    assert {r.outcome for r in results} == {Outcome.SENT}
    assert sim_client.stats()["access_tokens_issued"] == 1
    assert sim_client.stats()["fcm"]["401"] == 30


def test_log_lines_carry_prefix_and_token_prefix_only(fcm_config, caplog):
    caplog.set_level(logging.DEBUG, logger="notifications.transports.fcm")
    token = "tok-unregistered-secret-tail"

    runtime.send_many(fcm_config(), [fcm_push(token), fcm_push("tok-ok-logs", 2)])

    lines = [r.getMessage() for r in caplog.records if r.name == "notifications.transports.fcm"]
    assert any(line.startswith("FCM: token_invalid delivery 1 to tok-unre…") for line in lines)
    assert any(line.startswith("FCM: sent delivery 2 to tok-ok-l…") for line in lines)
    assert all(line.startswith("FCM: ") for line in lines)
    assert not any("secret-tail" in line or "Sale" in line for line in lines)


def test_retry_after_accepts_http_dates():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 90))
    assert 80 < retry_after_seconds(date) <= 90


def test_quota_without_retry_after_waits_a_minute():
    result = classify_fcm_answer(429, {"error": {"status": "RESOURCE_EXHAUSTED"}}, None)

    assert result.outcome == Outcome.RETRY
    assert result.retry_after == 60
