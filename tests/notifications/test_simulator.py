from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import RemoteSettingsChanged, StreamEnded
from h2.settings import SettingCodes

from notifications.simulator import client as sim_client
from notifications.simulator.apns_server import ApnsKeyring
from notifications.simulator.credentials import demo_credentials, load_keyring
from notifications.simulator.state import RECEIPTS_PER_TOKEN, SimulatorConfig, SimulatorState
from notifications.transports import runtime
from notifications.transports.base import Outcome, OutgoingPush

pytest_plugins = ["tests.simulator_fixtures"]

REPO = Path(__file__).resolve().parents[2]


def fcm_push(token: str, n: int = 1) -> OutgoingPush:
    body = {"token": token, "notification": {"body": f"hello {n}"}, "data": {"n": str(n)}}
    return OutgoingPush(n, token, body)


def post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_inbox_keeps_the_latest_receipts_per_token_newest_first(fcm_config):
    pushes = [fcm_push("tok-inbox-1", n) for n in range(1, RECEIPTS_PER_TOKEN + 6)]
    config = fcm_config(concurrency=1)  # in order, so "latest" is well defined

    runtime.send_many(config, pushes)

    inbox = sim_client.receipts("tok-inbox-1")
    assert len(inbox) == RECEIPTS_PER_TOKEN
    assert inbox[0]["message"]["data"]["n"] == str(RECEIPTS_PER_TOKEN + 5)
    assert inbox[-1]["message"]["data"]["n"] == "6"
    assert sim_client.stats()["fcm"]["200"] == RECEIPTS_PER_TOKEN + 5


def test_reset_clears_receipts_and_counts(fcm_config):
    runtime.send_many(fcm_config(), [fcm_push("tok-reset-1")])

    sim_client.reset()

    assert sim_client.receipts() == []
    assert sim_client.stats()["fcm"] == {}


def test_fault_rate_one_turns_every_send_into_the_configured_fault(fcm_config):
    sim_client.configure(fault_rate=1, fault_statuses=[503])

    results = runtime.send_many(fcm_config(), [fcm_push(f"tok-fault-{i}", i) for i in range(5)])

    assert {r.outcome for r in results} == {Outcome.RETRY}
    assert all("503" in r.reason for r in results)
    assert sim_client.stats()["fcm"]["503"] == 5


def test_latency_applies_to_every_request(fcm_config):
    sim_client.configure(latency_ms=300)

    started = time.monotonic()
    [result] = runtime.send_many(fcm_config(), [fcm_push("tok-latency-1")])

    assert result.outcome == Outcome.SENT
    assert time.monotonic() - started >= 0.3


def test_config_rejects_bad_values_naming_the_field(push_simulator):
    with pytest.raises(sim_client.SimulatorError) as error:
        sim_client.configure(fault_rate=2, latency_ms=-1, colour="red")

    message = str(error.value)
    assert "fault_rate" in message and "latency_ms" in message and "colour" in message
    assert sim_client.stats()["config"]["fault_rate"] == 0


def test_send_without_a_bearer_token_is_401(push_simulator):
    url = f"{push_simulator.fcm_base_url}/v1/projects/pm-simulator/messages:send"
    body = json.dumps({"message": {"token": "t", "data": {}}}).encode()

    status, answer = post(url, body, {"Content-Type": "application/json"})

    assert status == 401
    assert answer["error"]["status"] == "UNAUTHENTICATED"


def test_token_endpoint_rejects_an_unsigned_assertion(push_simulator):
    claims = {"iss": "pushmarketing@pm-simulator.iam.gserviceaccount.com", "iat": 1, "exp": 2}
    assertion = jwt.encode(claims, "not-the-service-account-key-" * 2, algorithm="HS256")
    form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion

    status, answer = post(
        push_simulator.fcm_token_uri,
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status == 400
    assert answer["error"] == "invalid_grant"


def test_expired_and_foreign_provider_tokens_are_refused(push_simulator):
    keyring_data = load_keyring(push_simulator.directory)["apns_keys"]
    keyring = ApnsKeyring(keyring_data, SimulatorState())
    creds = push_simulator.credentials
    headers = {"kid": creds.apns_key_id}

    def bearer(iat: float, iss: str = creds.apns_team_id) -> str:
        token = jwt.encode(
            {"iss": iss, "iat": int(iat)}, creds.apns_key_pem, algorithm="ES256", headers=headers
        )
        return f"bearer {token}"

    assert keyring.check(bearer(time.time())) == ""
    assert keyring.check(bearer(time.time() - 4000)) == "ExpiredProviderToken"
    assert keyring.check(bearer(time.time(), iss="SOMEONE")) == "InvalidProviderToken"
    assert keyring.check("") == "MissingProviderToken"


def test_demo_credentials_are_stable_and_consistent(tmp_path):
    first = demo_credentials(tmp_path, token_uri="http://127.0.0.1:1/token")
    second = demo_credentials(tmp_path)

    assert first == second
    key, cert, _ = pkcs12.load_key_and_certificates(
        first.client_p12, first.client_p12_password.encode()
    )
    assert cert is not None and key is not None
    assert json.loads(first.fcm_service_account_json)["token_uri"] == "http://127.0.0.1:1/token"
    assert first.apns_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    for name in ("server.key", "apns-client.pem", f"AuthKey_{first.apns_key_id}.p8"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_management_command_serves_and_prints_the_settings(tmp_path):
    env = {**os.environ, "DEBUG": "1", "PUSH_SIMULATOR_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "push_simulator", "--fcm-port", "0", "--apns-port", "0",
         "--latency-ms", "5"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while "APNS_CA_FILE" not in printed and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if "=" in line and line.startswith("  "):
                name, value = line.strip().split("=", 1)
                printed[name] = value
        assert printed.get("APNS_CA_FILE") == str(tmp_path / "ca.pem"), process.stderr.read()
        with urllib.request.urlopen(printed["FCM_BASE_URL"] + "/_sim/stats", timeout=5) as answer:
            stats = json.loads(answer.read())
        assert stats["config"]["latency_ms"] == 5
        assert int(printed["APNS_PORT"]) > 0
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Simulator stopped." in out


def test_management_command_rejects_a_bad_fault_rate(tmp_path):
    env = {**os.environ, "DEBUG": "1", "PUSH_SIMULATOR_DIR": str(tmp_path)}

    finished = subprocess.run(
        [sys.executable, "manage.py", "push_simulator", "--fault-rate", "1.5"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert finished.returncode != 0
    assert "--fault-rate: must be a number between 0 and 1" in finished.stderr


def test_environment_for_other_processes_points_at_this_simulator(push_simulator_env, tmp_path):
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'pushmarketing.settings'); django.setup(); "
        "from notifications.simulator import client; print(client.stats()['config']['latency_ms'])"
    )
    sim_client.configure(latency_ms=7)

    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DEBUG": "1", **push_simulator_env},
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "7"
    assert push_simulator_env["APNS_CA_FILE"].endswith("ca.pem")


def advertised_stream_limits(simulator, authorization: str) -> list[int]:
    """Every SETTINGS_MAX_CONCURRENT_STREAMS the APNs simulator advertises on a new connection
    that sends one request, up to a moment after its answer (a plain h2 client over TLS)."""
    context = ssl.create_default_context(cafile=str(simulator.credentials.ca_file))
    context.set_alpn_protocols(["h2"])
    conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    limits: list[int] = []
    raw = socket.create_connection((simulator.host, simulator.apns_port), timeout=5)
    with context.wrap_socket(raw, server_hostname=simulator.host) as sock:
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())

        def read_until(done: type, timeout: float) -> None:
            sock.settimeout(timeout)
            while True:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    return
                events = conn.receive_data(data)
                for event in events:
                    if isinstance(event, RemoteSettingsChanged):
                        setting = event.changed_settings.get(SettingCodes.MAX_CONCURRENT_STREAMS)
                        if setting is not None:
                            limits.append(setting.new_value)
                sock.sendall(conn.data_to_send())
                if any(isinstance(event, done) for event in events):
                    return

        read_until(RemoteSettingsChanged, 5)
        conn.send_headers(1, [(":method", "POST"), (":scheme", "https"),
            (":path", "/3/device/" + "ab" * 32), (":authority", simulator.host),
            ("apns-topic", simulator.credentials.apns_topic),
            ("authorization", authorization)])  # fmt: skip
        conn.send_data(1, b'{"aps": {"alert": "hi"}}', end_stream=True)
        sock.sendall(conn.data_to_send())
        read_until(StreamEnded, 5)
        read_until(type(None), 0.3)  # anything the server sends right after the answer
    return limits


def provider_token(simulator) -> str:
    creds = simulator.credentials
    token = jwt.encode({"iss": creds.apns_team_id, "iat": int(time.time())},
        creds.apns_key_pem, algorithm="ES256", headers={"kid": creds.apns_key_id})  # fmt: skip
    return f"bearer {token}"


def test_apns_connection_starts_at_one_stream_and_ramps_after_an_authorised_answer(
    push_simulator,
):
    assert advertised_stream_limits(push_simulator, provider_token(push_simulator)) == [1, 1000]


def test_apns_stream_ramp_waits_for_an_authorised_request(push_simulator):
    assert advertised_stream_limits(push_simulator, "bearer not-a-jwt") == [1]


def test_apns_stream_ramp_can_be_switched_off(push_simulator):
    sim_client.configure(stream_ramp=False)

    assert advertised_stream_limits(push_simulator, provider_token(push_simulator)) == [1000]


def test_latency_jitter_spreads_answers_around_the_latency():
    state = SimulatorState(SimulatorConfig(latency_ms=100, latency_jitter_ms=50), seed=1)

    delays = [state.latency_seconds(slow=False) for _ in range(1000)]

    assert 0.05 <= min(delays) < 0.06 and 0.14 < max(delays) <= 0.15
    assert 0.095 < sum(delays) / len(delays) < 0.105
    assert state.latency_seconds(slow=True) >= 3.05


def test_config_takes_ramp_and_jitter_and_rejects_bad_ones(push_simulator):
    assert sim_client.configure(latency_jitter_ms=20, stream_ramp=False)["stream_ramp"] is False

    with pytest.raises(sim_client.SimulatorError) as exc:
        sim_client.configure(stream_ramp="no", latency_jitter_ms=-5)

    message = str(exc.value)
    assert "stream_ramp" in message and "latency_jitter_ms" in message
    assert sim_client.stats()["config"]["latency_jitter_ms"] == 20
