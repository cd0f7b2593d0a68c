from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from dataclasses import replace

import pytest
from aioapns.connection import ChannelPool
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.content import PushContent, RenderedText
from notifications.payloads import MAX_PAYLOAD_BYTES, PushIds, apns_request, encode
from notifications.simulator import client as sim_client
from notifications.transports import runtime
from notifications.transports.apns import ApnsTransport, _StreamSlots, classify_apns_answer
from notifications.transports.base import Outcome, OutgoingPush

pytest_plugins = ["tests.simulator_fixtures"]

TOPIC = "com.example.pushdemo"
CONTENT = PushContent(message="Hi there", title="Sale", custom_data={"coupon": "X1"})


def token(prefix: str, n: int = 0) -> str:
    return (prefix + f"{n:08x}").ljust(64, "0")


def apns_push(device_token: str, delivery_id: int = 1, **content_changes: object) -> OutgoingPush:
    content = replace(CONTENT, **content_changes)
    text = RenderedText(title=content.title, subtitle="", body=content.message, tap_uri="")
    ids = PushIds(delivery_id=delivery_id, notification_id=7, run_id=3)
    request = apns_request(content, text, ids, topic=TOPIC)
    body = {"headers": dict(request.headers), "payload": request.payload}
    return OutgoingPush(delivery_id, device_token, body)


def other_p8() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize("certificate", [False, True], ids=["token-auth", "certificate-auth"])
def test_success_echoes_apns_id_and_reaches_the_virtual_device(apns_config, certificate):
    device = token("a0", 1)

    [result] = runtime.send_many(apns_config(certificate=certificate), [apns_push(device)])

    assert result.outcome == Outcome.SENT
    assert len(result.provider_id) == 36  # the apns-id uuid, echoed by the server
    [receipt] = sim_client.receipts(device)
    assert receipt["headers"]["apns-id"] == result.provider_id  # ours, on the wire
    assert receipt["message"]["aps"]["alert"] == {"body": "Hi there", "title": "Sale"}
    assert receipt["message"]["coupon"] == "X1"
    assert receipt["headers"]["apns-topic"] == TOPIC
    assert receipt["headers"]["apns-push-type"] == "alert"


def test_sandbox_app_goes_to_the_sandbox_host(apns_config):
    sandbox_device, production_device = token("a1", 1), token("a1", 2)

    runtime.send_many(apns_config(sandbox=True, app_id=10), [apns_push(sandbox_device)])
    runtime.send_many(apns_config(sandbox=False, app_id=11), [apns_push(production_device)])

    [sandbox] = sim_client.receipts(sandbox_device)
    [production] = sim_client.receipts(production_device)
    assert (sandbox["environment"], sandbox["host"]) == ("sandbox", "localhost")
    assert (production["environment"], production["host"]) == ("production", "127.0.0.1")


def test_burst_over_one_connection_all_sent(apns_config):
    pushes = [apns_push(token("a2", i), i) for i in range(300)]

    results = runtime.send_many(apns_config(), pushes)

    assert [r.outcome for r in results] == [Outcome.SENT] * 300
    assert sim_client.stats()["apns"]["200"] == 300


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("bad0", "400 BadDeviceToken"), ("70b1", "400 DeviceTokenNotForTopic")],
)
def test_bad_tokens_are_token_invalid(apns_config, prefix, reason):
    [result] = runtime.send_many(apns_config(), [apns_push(token(prefix))])

    assert result.outcome == Outcome.TOKEN_INVALID
    assert result.reason == reason
    assert result.invalid_since_ms is None


def test_unregistered_carries_the_invalid_since_timestamp(apns_config):
    before = int(time.time() * 1000)

    [result] = runtime.send_many(apns_config(), [apns_push(token("dead"))])

    assert result.outcome == Outcome.TOKEN_INVALID
    assert result.reason == "410 Unregistered"
    assert before <= result.invalid_since_ms <= int(time.time() * 1000)


def test_non_hex_token_is_token_invalid(apns_config):
    [result] = runtime.send_many(apns_config(), [apns_push("not-a-token")])

    assert result.outcome == Outcome.TOKEN_INVALID


def test_payload_too_large_fails(apns_config):
    push = apns_push(token("a3"), custom_data={"blob": "x" * 5000})

    [result] = runtime.send_many(apns_config(), [push])

    assert result.outcome == Outcome.FAILED
    assert result.reason == "413 PayloadTooLarge"
    assert not result.credentials_rejected


def test_a_payload_measured_under_the_limit_arrives_under_it(apns_config):
    # Many short keys: each adds two separators, which json.dumps's defaults pad with spaces.
    data = {f"k{n:03d}": "v" for n in range(320)}
    push = apns_push(token("a5"), custom_data=data)
    measured = len(encode(push.body["payload"]))
    padded = len(json.dumps(push.body["payload"], ensure_ascii=False).encode())
    assert measured <= MAX_PAYLOAD_BYTES < padded

    [result] = runtime.send_many(apns_config(), [push])

    assert result.outcome == Outcome.SENT, result.reason
    [receipt] = sim_client.receipts(token("a5"))
    assert receipt["message"]["k319"] == "v"


def test_other_400_fails_without_deactivating(apns_config):
    push = apns_push(token("a4"))
    push.body["headers"]["apns-priority"] = "7"

    [result] = runtime.send_many(apns_config(), [push])

    assert result.outcome == Outcome.FAILED
    assert result.reason == "400 BadPriority"


def test_certificate_for_another_topic_is_refused(apns_config):
    push = apns_push(token("a5"))
    push.body["headers"]["apns-topic"] = "com.example.other"

    [result] = runtime.send_many(apns_config(certificate=True), [push])

    assert result.outcome == Outcome.FAILED
    assert result.reason == "400 TopicDisallowed"


def self_signed_client_pem(topic: str = TOPIC) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.USER_ID, topic)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (cert.public_bytes(serialization.Encoding.PEM) + key_pem).decode()


def test_certificate_from_another_ca_flags_credentials(apns_config):
    config = apns_config(certificate=True, secret=self_signed_client_pem(), app_id=56)

    [result] = runtime.send_many(config, [apns_push(token("af"))])

    assert result.outcome == Outcome.FAILED
    assert result.credentials_rejected
    assert "refused the TLS session" in result.reason


def test_untrusted_server_is_a_retry_not_a_credentials_problem(apns_config, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(self_signed_client_pem().split("-----BEGIN PRIVATE KEY")[0])
    config = apns_config(certificate=True, apns_ca_file=str(other_ca), app_id=57)

    [result] = runtime.send_many(config, [apns_push(token("af"))])

    assert result.outcome == Outcome.RETRY
    assert not result.credentials_rejected


def test_transport_must_be_built_inside_the_loop(apns_config):
    # A fresh thread has no event loop at all, whatever earlier tests left in this one.
    errors: list[BaseException] = []

    def build() -> None:
        try:
            ApnsTransport(apns_config())
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    thread.join(10)
    assert len(errors) == 1


@pytest.mark.parametrize(
    "change", ["wrong-key", "unknown-kid", "wrong-team"], ids=lambda change: change
)
def test_rejected_provider_token_flags_credentials(apns_config, change):
    overrides = {
        "wrong-key": {"secret": other_p8()},
        "unknown-kid": {"key_id": "NOSUCHKEY1"},
        "wrong-team": {"team_id": "OTHERTEAM1"},
    }[change]

    [result] = runtime.send_many(apns_config(**overrides), [apns_push(token("a6"))])

    assert result.outcome == Outcome.FAILED
    assert result.credentials_rejected
    assert result.reason == "403 InvalidProviderToken"


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("429a", "429 TooManyRequests"), ("5000", "500 InternalServerError"),
     ("5030", "503 ServiceUnavailable")],
)  # fmt: skip
def test_transient_answers_retry(apns_config, prefix, reason):
    [result] = runtime.send_many(apns_config(), [apns_push(token(prefix))])

    assert result.outcome == Outcome.RETRY
    assert result.reason == reason
    assert result.retry_after and result.retry_after > 0


def test_injected_faults_apply_to_apns_too(apns_config):
    sim_client.configure(fault_rate=1, fault_statuses=[500])

    results = runtime.send_many(apns_config(), [apns_push(token("b1", i), i) for i in range(5)])

    assert {r.reason for r in results} == {"500 InternalServerError"}
    assert {r.outcome for r in results} == {Outcome.RETRY}


def test_timeout_retries_without_holding_up_other_sends(apns_config):
    sim_client.configure(slow_latency_ms=6000)
    pushes = [apns_push(token("5100"), 1)] + [apns_push(token("a7", i), i + 2) for i in range(20)]

    started = time.monotonic()
    results = runtime.send_many(apns_config(timeout_seconds=0.5), pushes)

    assert results[0].outcome == Outcome.RETRY
    assert results[0].reason == "timeout"
    assert [r.outcome for r in results[1:]] == [Outcome.SENT] * 20
    assert time.monotonic() - started < 5


def test_connection_refused_is_retry(apns_config):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]

    [result] = runtime.send_many(apns_config(apns_port=free_port), [apns_push(token("a8"))])

    assert result.outcome == Outcome.RETRY
    assert "connection error" in result.reason


def test_simulator_advertises_a_large_window_and_1000_streams(apns_config):
    config = apns_config(app_id=55)
    runtime.send_many(config, [apns_push(token("ae"))])

    [connection] = runtime.transport_for(config).client.pool.connections

    assert connection.conn.remote_settings.max_concurrent_streams == 1000
    assert connection.conn.remote_settings.initial_window_size >= 2**20
    assert connection.conn.outbound_flow_control_window >= 2**20


async def free_streams(slots: ChannelPool) -> int:
    """Streams aioapns's pool could open now (it skips a connection whose slots are busy)."""
    taken = 0
    while not slots.is_busy:
        await slots.acquire()
        taken += 1
    for _ in range(taken):
        slots.release()
    return taken


async def apple_ramp(slots: ChannelPool) -> int:
    """Apple's ramp with one request in flight: limit 1, then 1000, then the request ends."""
    await slots.acquire()
    slots.bound = 1
    slots.bound = 1000
    slots.release()
    return await free_streams(slots)


def test_aioapns_channel_pool_still_loses_streams_on_the_ramp():
    """The aioapns 4.0 bug `_StreamSlots` works around. When this fails, aioapns has fixed
    it: drop `_StreamSlots`."""
    assert asyncio.run(apple_ramp(ChannelPool(1000))) == 2


def test_stream_slots_follow_the_ramp():
    async def scenario() -> tuple[int, int, int]:
        slots = _StreamSlots()
        before_settings = await free_streams(slots)
        slots.bound = 1000  # a server that starts at 1000
        await slots.acquire()
        slots.bound = 1
        one_in_flight = await free_streams(slots)
        slots.bound = 1000
        return before_settings, one_in_flight, await free_streams(slots)

    assert asyncio.run(scenario()) == (1, 0, 999)
    assert asyncio.run(apple_ramp(_StreamSlots())) == 1000


def test_stream_slots_follow_a_lowered_limit_and_wake_waiters_when_raised():
    async def scenario() -> tuple[int, int, bool, int]:
        slots = _StreamSlots()
        slots.bound = 1000
        for _ in range(10):
            await slots.acquire()
        slots.bound = 5  # 10 in flight, 5 allowed: nothing free until 6 have ended
        for _ in range(5):
            slots.release()
        after_five_ended = await free_streams(slots)
        slots.release()
        after_six_ended = await free_streams(slots)
        await slots.acquire()  # 5 in flight again
        waiter = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        blocked = not waiter.done()
        slots.bound = 8
        await asyncio.wait_for(waiter, 1)
        return after_five_ended, after_six_ended, blocked, await free_streams(slots)

    assert asyncio.run(scenario()) == (0, 1, True, 2)


def test_transport_honours_the_stream_ramp_and_then_uses_hundreds_of_streams(apns_config, caplog):
    """Apple's ramp (the simulator's default). A cold start must not go over the advertised
    limit (aioapns assumes 1000 before the server's first SETTINGS frame: 998 over), nor poll
    while it waits for the ramp; once ramped, aioapns's own accounting left ~2 streams per
    connection usable."""
    caplog.set_level(logging.WARNING, logger="aioapns")
    # A second of latency: the 1,000 requests overlap even when a loaded machine issues them
    # slowly (at 200 ms a busy CI box reached only ~340 in flight).
    sim_client.configure(latency_ms=1000)
    config = apns_config(concurrency=1000, timeout_seconds=20, app_id=56)

    cold = runtime.send_many(config, [apns_push(token("a6", i), i) for i in range(1000)])
    cold_streams = sim_client.stats()["apns_streams"]
    sim_client.reset()
    sim_client.configure(latency_ms=1000)
    ramped = runtime.send_many(config, [apns_push(token("a6", i), i) for i in range(1000, 2000)])
    ramped_streams = sim_client.stats()["apns_streams"]

    assert [r.outcome for r in cold + ramped] == [Outcome.SENT] * 2000
    assert cold_streams["over_advertised_limit"] == 0
    assert ramped_streams["connections"] == 0  # the same, already ramped connections
    assert ramped_streams["max_in_flight_per_connection"] >= 500
    assert ramped_streams["over_advertised_limit"] == 0
    connections = runtime.transport_for(config).client.pool.connections
    assert {c.conn.remote_settings.max_concurrent_streams for c in connections} == {1000}
    assert not [r for r in caplog.records if "completely busy" in r.getMessage()]


@pytest.mark.parametrize("certificate", [False, True], ids=["token-auth", "certificate-auth"])
def test_ttl_zero_goes_out_as_expiration_zero(apns_config, certificate):
    device = token("a7", 1)

    [result] = runtime.send_many(
        apns_config(certificate=certificate), [apns_push(device, ttl_seconds=0)]
    )

    assert result.outcome == Outcome.SENT
    [receipt] = sim_client.receipts(device)
    assert receipt["headers"]["apns-expiration"] == "0"


def test_ttl_goes_out_as_the_epoch_it_expires_at(apns_config):
    device = token("a7", 2)
    before = int(time.time())

    runtime.send_many(apns_config(), [apns_push(device, ttl_seconds=3600)])

    [receipt] = sim_client.receipts(device)
    assert before + 3600 <= int(receipt["headers"]["apns-expiration"]) <= time.time() + 3600


def test_many_errors_on_one_connection_do_not_stall_it(apns_config):
    """aioapns never returns the receive window for error bodies; ~2,400 of them used to
    drain it and every later answer hung until the timeout."""
    config = apns_config(timeout_seconds=15)
    pushes = [apns_push(token("bad0", i), i) for i in range(2600)]

    results = runtime.send_many(config, pushes)
    [after] = runtime.send_many(config, [apns_push(token("a9"), 9999)])

    assert {r.outcome for r in results} == {Outcome.TOKEN_INVALID}
    assert after.outcome == Outcome.SENT


def test_late_answer_to_a_timed_out_send_does_not_kill_the_connection(apns_config, caplog):
    """aioapns sets the result of a request our deadline already cancelled; unguarded, the
    InvalidStateError escapes data_received and the connection dies."""
    sim_client.configure(slow_latency_ms=1500)
    config = apns_config(timeout_seconds=1, app_id=54)
    [warm] = runtime.send_many(config, [apns_push(token("ad", 1), 1)])  # connect first
    [late] = runtime.send_many(config, [apns_push(token("5100"), 2)])
    transport = runtime.transport_for(config)
    [connection] = transport.client.pool.connections

    time.sleep(1)  # the late answer arrives on the same connection
    [after] = runtime.send_many(config, [apns_push(token("ad", 3), 3)])

    assert warm.outcome == Outcome.SENT
    assert late.outcome == Outcome.RETRY
    assert after.outcome == Outcome.SENT
    assert transport.client.pool.connections == [connection]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_client_is_rebuilt_when_the_app_type_changes(apns_config):
    production = apns_config(app_id=58)
    first = runtime.transport_for(production)

    second = runtime.transport_for(apns_config(app_id=58, sandbox=True))

    assert second is not first
    assert second.client.pool.protocol_class.APNS_SERVER == "localhost"


def test_client_is_rebuilt_when_the_credential_version_changes(apns_config):
    config = apns_config(app_id=51)
    first = runtime.transport_for(config)
    assert runtime.transport_for(config) is first

    [result] = runtime.send_many(replace(config, version=2), [apns_push(token("aa"))])

    second = runtime.transport_for(replace(config, version=2))
    assert second is not first and isinstance(second, ApnsTransport)
    assert result.outcome == Outcome.SENT


def test_one_provider_jwt_is_reused_across_connections(apns_config):
    config = apns_config(app_id=52)
    runtime.send_many(config, [apns_push(token("ab", 1))])
    transport = runtime.transport_for(config)
    first_header = transport.client.pool._shared_auth.get_header()

    # Drop the connection as an idle timeout would; the next send opens a new one.
    async def drop_connections():
        transport.client.pool.close()
        await asyncio.sleep(0.05)

    runtime.run(drop_connections())
    assert transport.client.pool.connections == []
    [result] = runtime.send_many(config, [apns_push(token("ab", 2))])

    assert result.outcome == Outcome.SENT
    assert transport.client.pool._shared_auth.get_header() == first_header
    assert sim_client.stats()["apns_provider_tokens_seen"] == 1


def test_certificate_file_does_not_stay_on_disk(apns_config):
    config = apns_config(certificate=True, app_id=53)

    transport = runtime.transport_for(config)

    assert transport._cert_path == ""


def test_log_lines_carry_prefix_and_token_prefix_only(apns_config, caplog):
    caplog.set_level(logging.DEBUG, logger="notifications.transports.apns")
    dead, ok = token("dead", 0xFEED), token("ac", 1)

    runtime.send_many(apns_config(), [apns_push(dead, 1), apns_push(ok, 2)])

    lines = [r.getMessage() for r in caplog.records if r.name == "notifications.transports.apns"]
    assert "APNs: token_invalid delivery 1 to dead0000…: 410 Unregistered" in lines
    assert "APNs: sent delivery 2 to ac000000…" in lines
    assert not any(dead[8:] in line or ok[8:] in line or "Sale" in line for line in lines)


def test_classification_of_token_update_throttling():
    result = classify_apns_answer("429", "TooManyProviderTokenUpdates", None)

    assert result.outcome == Outcome.RETRY
    assert result.retry_after == 60
