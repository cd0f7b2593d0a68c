"""Runs the FCM and APNs simulators on one event loop: in the foreground (management command,
benchmark subprocess) or in a background thread (tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from notifications.simulator.apns_server import (
    ApnsKeyring,
    ApnsServerProtocol,
    server_ssl_context,
)
from notifications.simulator.credentials import DemoCredentials, demo_credentials, load_keyring
from notifications.simulator.fcm_server import fcm_app
from notifications.simulator.state import SimulatorConfig, SimulatorState

T = TypeVar("T")

DEFAULT_SANDBOX_HOSTS = ("localhost",)


class Simulator:
    """Both fake providers, sharing one `SimulatorState` (so `/_sim/receipts` covers APNs too).

    APNs sandbox vs production: both roles share one port; requests whose `host` is one of
    `sandbox_hosts` (default `localhost`) are recorded as `environment: sandbox`, any other
    (e.g. `127.0.0.1`) as production. Point APNS_HOST_SANDBOX / APNS_HOST_PRODUCTION at them.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        fcm_port: int = 0,
        apns_port: int = 0,
        directory: Path | str,
        config: SimulatorConfig | None = None,
        sandbox_hosts: Iterable[str] = DEFAULT_SANDBOX_HOSTS,
        token_uri: str | None = None,
    ) -> None:
        self.host = host
        self.requested_ports = (fcm_port, apns_port)
        self.directory = Path(directory)
        self.state = SimulatorState(config)
        self.sandbox_hosts = frozenset(sandbox_hosts)
        self.token_uri = token_uri
        self.fcm_port = 0
        self.apns_port = 0
        self.credentials: DemoCredentials | None = None
        self._runner: web.AppRunner | None = None
        self._apns_server: asyncio.Server | None = None

    @property
    def fcm_base_url(self) -> str:
        return f"http://{self.host}:{self.fcm_port}"

    @property
    def fcm_token_uri(self) -> str:
        return f"{self.fcm_base_url}/token"

    async def start(self) -> None:
        self.credentials = demo_credentials(
            self.directory,
            token_uri=self.token_uri or f"http://{self.host}:{self.requested_ports[0]}/token",
        )
        keyring = load_keyring(self.directory)
        self._runner = web.AppRunner(fcm_app(self.state, keyring["fcm_accounts"]), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_ports[0], backlog=1024)
        await site.start()
        self.fcm_port = self._runner.addresses[0][1]
        apns_keyring = ApnsKeyring(keyring["apns_keys"], self.state)
        context = server_ssl_context(
            str(self.credentials.server_cert_file),
            str(self.credentials.server_key_file),
            str(self.credentials.ca_file),
        )
        self._apns_server = await asyncio.get_running_loop().create_server(
            lambda: ApnsServerProtocol(self.state, apns_keyring, self.sandbox_hosts),
            self.host,
            self.requested_ports[1],
            ssl=context,
            backlog=1024,
        )
        self.apns_port = self._apns_server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._apns_server is not None:
            self._apns_server.close()
            self._apns_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class SimulatorThread:
    """The simulator on its own loop in a daemon thread (tests): start() returns once bound."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="push-simulator", daemon=True
        )

    def start(self, timeout: float = 20) -> Simulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.simulator.start(), self.loop).result(timeout)
        return self.simulator

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a plain function on the simulator's loop (its state is not thread-safe)."""

        async def wrapper() -> T:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.simulator.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
