"""Run the local FCM + APNs simulator in the foreground."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.simulator.credentials import DemoCredentials
from notifications.simulator.server import DEFAULT_SANDBOX_HOSTS, Simulator
from notifications.simulator.state import SimulatorConfig


def simulator_banner(simulator: Simulator, creds: DemoCredentials, *, advice: bool) -> list[str]:
    """What the simulator prints once it listens: where, which demo credentials, and (with
    `advice`) the settings that point the app at it."""
    production = "127.0.0.1" if simulator.host in DEFAULT_SANDBOX_HOSTS else simulator.host
    lines = [
        f"FCM simulator:  {simulator.fcm_base_url}  (OAuth token: /token)",
        f"APNs simulator: https://{simulator.host}:{simulator.apns_port}  (HTTP/2, "
        f"sandbox host '{DEFAULT_SANDBOX_HOSTS[0]}', production host '{production}')",
        f"Control:        {simulator.fcm_base_url}/_sim/receipts | stats | reset | config",
        f"Demo credentials in {creds.directory}: AuthKey_{creds.apns_key_id}.p8 "
        f"(team {creds.apns_team_id}, topic {creds.apns_topic}), apns-client.p12 "
        f"(password '{creds.client_p12_password}'), fcm-service-account.json",
    ]
    if not advice:
        return lines
    return [
        *lines,
        "",
        "Point the app at it with:",
        f"  FCM_BASE_URL={simulator.fcm_base_url}",
        f"  FCM_TOKEN_URI_OVERRIDE={simulator.fcm_token_uri}",
        f"  APNS_HOST_SANDBOX={DEFAULT_SANDBOX_HOSTS[0]}",
        f"  APNS_HOST_PRODUCTION={production}",
        f"  APNS_PORT={simulator.apns_port}",
        f"  APNS_CA_FILE={creds.ca_file}",
        f"  PUSH_SIMULATOR_HOST={simulator.host}",
        f"  PUSH_SIMULATOR_FCM_PORT={simulator.fcm_port}",
    ]


class Command(BaseCommand):
    help = "Serve a local FCM and APNs simulator (see notifications/simulator/__init__.py)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.PUSH_SIMULATOR_HOST)
        parser.add_argument("--fcm-port", type=int, default=settings.PUSH_SIMULATOR_FCM_PORT)
        parser.add_argument("--apns-port", type=int, default=settings.PUSH_SIMULATOR_APNS_PORT)
        parser.add_argument("--dir", default=str(settings.PUSH_SIMULATOR_DIR))
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument(
            "--latency-jitter-ms", type=int, default=0, help="uniform ± around --latency-ms"
        )
        parser.add_argument("--slow-latency-ms", type=int, default=3000)
        parser.add_argument(
            "--no-stream-ramp",
            action="store_true",
            help="APNs: advertise 1000 streams from the first frame instead of Apple's 1 → 1000",
        )
        parser.add_argument(
            "--fault-rate", type=float, default=0.0, help="0..1 share of requests that fail"
        )
        parser.add_argument(
            "--fault-statuses", default="429,500,503", help="comma-separated statuses to inject"
        )
        parser.add_argument(
            "--no-setup-advice",
            action="store_true",
            help="do not print the settings that point the app at the simulator "
            "(runstack, whose processes already use them, passes it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = SimulatorConfig()
        try:
            statuses = [int(s) for s in options["fault_statuses"].split(",") if s.strip()]
        except ValueError as exc:
            raise CommandError("--fault-statuses: must be comma-separated integers") from exc
        errors = config.update(
            {
                "latency_ms": options["latency_ms"],
                "latency_jitter_ms": options["latency_jitter_ms"],
                "stream_ramp": not options["no_stream_ramp"],
                "slow_latency_ms": options["slow_latency_ms"],
                "fault_rate": options["fault_rate"],
                "fault_statuses": statuses,
            }
        )
        if errors:
            raise CommandError(
                "; ".join(
                    f"--{name.replace('_', '-')}: {', '.join(rules)}"
                    for name, rules in errors.items()
                )  # fmt: skip
            )
        simulator = Simulator(
            host=options["host"],
            fcm_port=options["fcm_port"],
            apns_port=options["apns_port"],
            directory=options["dir"],
            config=config,
        )
        asyncio.run(self._serve(simulator, advice=not options["no_setup_advice"]))

    async def _serve(self, simulator: Simulator, *, advice: bool = True) -> None:
        try:
            await simulator.start()
        except OSError as exc:
            raise CommandError(f"cannot bind the simulator: {exc}") from exc
        creds = simulator.credentials
        if creds is None:
            raise CommandError("the simulator started without its demo credentials")
        self.stdout.write("\n".join(simulator_banner(simulator, creds, advice=advice)))
        self.stdout.flush()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped.set)
        try:
            await stopped.wait()
        finally:
            await simulator.stop()
            self.stdout.write("Simulator stopped.")
