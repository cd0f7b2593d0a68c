"""Transport benchmark: N pushes through the real FCM / APNs transports to the simulator.

    python bench/transport.py --count 20000 [--provider fcm|apns|both] [--concurrency 200]
        [--latency-ms 50] [--latency-jitter-ms 10] [--no-stream-ramp]

The simulator runs in a SEPARATE process (`manage.py push_simulator` on free ports) so its CPU
is not billed to the client. No database, no Celery: this measures the transports alone.
Reported per provider: messages/s wall, and messages per client CPU-second
(`time.process_time()` of this process — every thread, including the I/O loop and the token
refresh executor). On 2 shared cores the wall figure is bounded by the simulator (a Python
HTTP/2 server costs about as much CPU per request as the client), so the CPU figure is the
one to compare with the targets: APNs ≥ 1,500, FCM ≥ 3,000 messages per client CPU-second.

The simulator runs with Apple's APNs stream ramp (1 stream per new connection, 1000 after the
first request) unless `--no-stream-ramp`; `--latency-ms` delays every answer as a real provider
20–100 ms away does, so the figures show whether concurrency hides it.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")

import django  # noqa: E402

django.setup()

from bench.procstat import process_cpu_seconds  # noqa: E402
from notifications.content import PushContent, RenderedText  # noqa: E402
from notifications.payloads import (  # noqa: E402
    PushIds,
    apns_payload_encoded,
    apns_request,
    fcm_message,
    fcm_message_encoded,
)
from notifications.simulator.credentials import demo_credentials  # noqa: E402
from notifications.transports import runtime  # noqa: E402
from notifications.transports.base import Outcome, OutgoingPush  # noqa: E402
from notifications.transports.config import (  # noqa: E402
    KIND_APNS_TOKEN,
    KIND_FCM_SERVICE_ACCOUNT,
    TransportConfig,
)

TARGETS = {"fcm": 3000, "apns": 1500}
CONTENT = PushContent(
    message="Hi {{lead.First Name}}, your weekend offer is waiting: 20% off everything.",
    title="Weekend sale",
    custom_data={"campaign": "weekend", "coupon": "WKND20"},
    tap_action="deep_link",
    tap_uri="pushdemo://offers/weekend",
)
TEXT = RenderedText(
    title="Weekend sale",
    subtitle="",
    body="Hi Ada, your weekend offer is waiting: 20% off everything.",
    tap_uri="pushdemo://offers/weekend",
)


@dataclass
class SimulatorProcess:
    process: subprocess.Popen[str]
    settings: dict[str, str]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_simulator(directory: str, options: Sequence[str] = ()) -> SimulatorProcess:
    command = [sys.executable, "manage.py", "push_simulator", "--fcm-port", "0",
               "--apns-port", "0", "--dir", directory, *options]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "DEBUG": "1"},
    )  # fmt: skip
    printed: dict[str, str] = {}
    assert process.stdout is not None
    while "PUSH_SIMULATOR_FCM_PORT" not in printed:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"simulator failed to start: {process.stderr.read()}")
        if line.startswith("  ") and "=" in line:
            name, value = line.strip().split("=", 1)
            printed[name] = value
    return SimulatorProcess(process, printed)


def configs(sim: dict[str, str], directory: str, concurrency: int) -> dict[str, TransportConfig]:
    creds = demo_credentials(directory)
    common = {
        "fcm_base_url": sim["FCM_BASE_URL"],
        "fcm_token_uri_override": sim["FCM_TOKEN_URI_OVERRIDE"],
        "apns_port": int(sim["APNS_PORT"]),
        "apns_ca_file": sim["APNS_CA_FILE"],
        "timeout_seconds": 30.0,
        "concurrency": concurrency,
    }
    return {
        "fcm": TransportConfig(
            app_id=1, platform="android", version=1, kind=KIND_FCM_SERVICE_ACCOUNT,
            secret=creds.fcm_service_account_json, project_id=creds.fcm_project_id,
            apns_host=sim["APNS_HOST_PRODUCTION"], **common,
        ),
        "apns": TransportConfig(
            app_id=1, platform="ios", version=1, kind=KIND_APNS_TOKEN,
            secret=creds.apns_key_pem, key_id=creds.apns_key_id, team_id=creds.apns_team_id,
            topic=creds.apns_topic, apns_host=sim["APNS_HOST_PRODUCTION"], **common,
        ),
    }  # fmt: skip


def pushes(provider: str, count: int, topic: str) -> list[OutgoingPush]:
    built = []
    for i in range(count):
        ids = PushIds(delivery_id=i + 1, notification_id=1, run_id=1)
        # Built as the send path builds them (campaigns.delivery.send._build), encoded JSON
        # included, so the ceiling times the same transport work.
        if provider == "fcm":
            token = f"bench-fcm-token-{i:012d}"
            body = fcm_message(CONTENT, TEXT, ids, token)
            encoded, _ = fcm_message_encoded(body)
        else:
            token = f"ab{i:062x}"
            request = apns_request(CONTENT, TEXT, ids, topic=topic)
            body = {"headers": request.headers, "payload": request.payload}
            encoded, _ = apns_payload_encoded(request)
        built.append(OutgoingPush(i + 1, token, body, encoded))
    return built


def measure(
    provider: str, config: TransportConfig, count: int, *, simulator_pid: int | None = None
) -> dict[str, float]:
    """sent, wall and client CPU seconds; with `simulator_pid`, the simulator's CPU too."""
    # Warm up outside the measurement: OAuth token / JWT, TLS handshake, keep-alive pool.
    runtime.send_many(config, pushes(provider, min(50, count), config.topic))
    batch = pushes(provider, count, config.topic)
    simulator_started = process_cpu_seconds(simulator_pid) if simulator_pid else 0.0
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    results = runtime.send_many(config, batch)
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    sent = sum(1 for r in results if r.outcome == Outcome.SENT)
    figures = {"sent": sent, "wall": wall, "cpu": cpu}
    if simulator_pid:
        figures["simulator_cpu"] = process_cpu_seconds(simulator_pid) - simulator_started
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--provider", choices=["fcm", "apns", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=0, help="simulator latency per request")
    parser.add_argument("--latency-jitter-ms", type=int, default=0, help="uniform ± on it")
    parser.add_argument(
        "--no-stream-ramp", action="store_true", help="APNs simulator: 1000 streams from the start"
    )
    args = parser.parse_args()
    # aioapns logs every connection at INFO; keep the figures readable.
    logging.getLogger("aioapns").setLevel(logging.ERROR)
    logging.getLogger("notifications.transports").setLevel(logging.WARNING)
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")
    providers = ["fcm", "apns"] if args.provider == "both" else [args.provider]
    with tempfile.TemporaryDirectory(prefix="pm-bench-") as directory:
        options = ["--latency-ms", str(args.latency_ms),
                   "--latency-jitter-ms", str(args.latency_jitter_ms)]  # fmt: skip
        if args.no_stream_ramp:
            options.append("--no-stream-ramp")
        simulator = start_simulator(directory, options)
        try:
            all_configs = configs(simulator.settings, directory, args.concurrency)
            print(f"{args.count} messages per provider, concurrency {args.concurrency}, "
                  f"latency {args.latency_ms} ± {args.latency_jitter_ms} ms, APNs stream ramp "
                  f"{'off' if args.no_stream_ramp else 'on'}, "
                  f"simulator pid {simulator.process.pid}")  # fmt: skip
            failed = False
            for provider in providers:
                figures = measure(
                    provider,
                    all_configs[provider],
                    args.count,
                    simulator_pid=simulator.process.pid,
                )
                per_cpu = figures["sent"] / figures["cpu"] if figures["cpu"] else float("inf")
                verdict = "ok" if per_cpu >= TARGETS[provider] else "BELOW TARGET"
                failed |= figures["sent"] != args.count
                print(
                    f"{provider.upper():5} sent {int(figures['sent'])}/{args.count}  "
                    f"wall {figures['wall']:.2f}s = {figures['sent'] / figures['wall']:,.0f} msg/s  "
                    f"client CPU {figures['cpu']:.2f}s = {per_cpu:,.0f} msg/CPU-s  "
                    f"(target ≥ {TARGETS[provider]:,}: {verdict}); simulator CPU "
                    f"{figures['simulator_cpu'] * 1e6 / max(figures['sent'], 1):,.0f} µs/msg"
                )
            runtime.close_all()
        finally:
            simulator.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
