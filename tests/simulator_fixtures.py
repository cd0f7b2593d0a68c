"""The push simulator for tests: one instance per test session on free loopback ports, in a
background thread; each test gets a clean state and settings pointing the transports at it.

Use from a test module with `pytest_plugins = ["tests.simulator_fixtures"]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from notifications.simulator.credentials import DemoCredentials
from notifications.simulator.server import Simulator, SimulatorThread
from notifications.simulator.state import SimulatorConfig
from notifications.transports import runtime
from notifications.transports.config import (
    KIND_APNS_CERTIFICATE,
    KIND_APNS_TOKEN,
    KIND_FCM_SERVICE_ACCOUNT,
    TransportConfig,
    endpoint_settings,
)

SANDBOX_HOST = "localhost"
PRODUCTION_HOST = "127.0.0.1"


@pytest.fixture(scope="session")
def push_simulator_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorThread]:
    directory = tmp_path_factory.mktemp("push-simulator")
    thread = SimulatorThread(
        Simulator(host=PRODUCTION_HOST, directory=directory, sandbox_hosts=[SANDBOX_HOST])
    )
    thread.start()
    yield thread
    runtime.close_all()
    thread.stop()


@pytest.fixture
def push_simulator(push_simulator_thread: SimulatorThread, settings: Any) -> Iterator[Simulator]:
    simulator = push_simulator_thread.simulator
    settings.FCM_BASE_URL = simulator.fcm_base_url
    settings.FCM_TOKEN_URI_OVERRIDE = simulator.fcm_token_uri
    settings.APNS_HOST_SANDBOX = SANDBOX_HOST
    settings.APNS_HOST_PRODUCTION = PRODUCTION_HOST
    settings.APNS_PORT = simulator.apns_port
    settings.APNS_CA_FILE = str(simulator.credentials.ca_file)
    settings.PUSH_SIMULATOR_HOST = simulator.host
    settings.PUSH_SIMULATOR_FCM_PORT = simulator.fcm_port
    settings.PUSH_SIMULATOR_APNS_PORT = simulator.apns_port
    settings.PUSH_SIMULATOR_DIR = simulator.directory
    push_simulator_thread.call(_reset, simulator)
    yield simulator
    # Clients cache connections and tokens: the next test starts from nothing.
    runtime.close_all()
    push_simulator_thread.call(_reset, simulator)


@pytest.fixture
def push_simulator_env(push_simulator: Simulator) -> dict[str, str]:
    """Environment variables pointing another process (a real Celery worker, `runstack`) at
    this test's simulator: `subprocess.Popen(..., env={**os.environ, **push_simulator_env})`."""
    return simulator_env(push_simulator)


def simulator_env(simulator: Simulator) -> dict[str, str]:
    return {
        "FCM_BASE_URL": simulator.fcm_base_url,
        "FCM_TOKEN_URI_OVERRIDE": simulator.fcm_token_uri,
        "APNS_HOST_SANDBOX": SANDBOX_HOST,
        "APNS_HOST_PRODUCTION": PRODUCTION_HOST,
        "APNS_PORT": str(simulator.apns_port),
        "APNS_CA_FILE": str(demo(simulator).ca_file),
        "PUSH_SIMULATOR_HOST": simulator.host,
        "PUSH_SIMULATOR_FCM_PORT": str(simulator.fcm_port),
        "PUSH_SIMULATOR_APNS_PORT": str(simulator.apns_port),
        "PUSH_SIMULATOR_DIR": str(simulator.directory),
    }


def _reset(simulator: Simulator) -> None:
    simulator.state.reset()
    simulator.state.config = SimulatorConfig()


@pytest.fixture
def fcm_config(push_simulator: Simulator) -> Callable[..., TransportConfig]:
    """A factory: `fcm_config(**overrides)` → a config for the simulator's demo account."""
    return partial(fcm_config_for, push_simulator)


@pytest.fixture
def apns_config(push_simulator: Simulator) -> Callable[..., TransportConfig]:
    """A factory: `apns_config(certificate=False, sandbox=False, **overrides)`."""
    return partial(apns_config_for, push_simulator)


def demo(simulator: Simulator) -> DemoCredentials:
    assert simulator.credentials is not None
    return simulator.credentials


def fcm_config_for(simulator: Simulator, **overrides: Any) -> TransportConfig:
    creds = demo(simulator)
    config = TransportConfig(
        app_id=overrides.pop("app_id", 1),
        platform="android",
        version=overrides.pop("version", 1),
        kind=KIND_FCM_SERVICE_ACCOUNT,
        secret=creds.fcm_service_account(token_uri=simulator.fcm_token_uri),
        project_id=creds.fcm_project_id,
        **endpoint_settings(use_sandbox=False),
    )
    return replace(config, **overrides)


def apns_config_for(
    simulator: Simulator, *, certificate: bool = False, sandbox: bool = False, **overrides: Any
) -> TransportConfig:
    creds = demo(simulator)
    config = TransportConfig(
        app_id=overrides.pop("app_id", 2),
        platform="ios",
        version=overrides.pop("version", 1),
        kind=KIND_APNS_CERTIFICATE if certificate else KIND_APNS_TOKEN,
        secret=creds.client_pem if certificate else creds.apns_key_pem,
        key_id="" if certificate else creds.apns_key_id,
        team_id="" if certificate else creds.apns_team_id,
        topic=creds.apns_topic,
        use_sandbox=sandbox,
        **endpoint_settings(use_sandbox=sandbox),
    )
    return replace(config, **overrides)
