"""A REAL Celery worker for integration tests.

`celery -A pushmarketing worker` runs as a subprocess (solo pool, every queue)
against the same test database as the test (SQLite: the file named by TEST NAME in settings;
PostgreSQL: the test database), the real broker (REDIS_URL when set, else a private
filesystem broker folder both processes are pointed at) and the push simulator of
`tests.simulator_fixtures` (its endpoints go into the worker's environment).

Tests using it: `@pytest.mark.integration` and `@pytest.mark.django_db(transaction=True)` (the
worker must see committed rows). `celery_worker.kill()` SIGKILLs the worker's process group
mid-batch; `celery_worker.start()` starts a fresh one. `worker_lanes` is production's shape
instead: one worker for send,bulk,default and one for the interactive lane alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from pushmarketing.core.celery import QUEUES as QUEUE_NAMES
from pushmarketing.core.celery import app as celery_app
from tests.simulator_fixtures import simulator_env

READY_TIMEOUT_SECONDS = 60
QUEUES = ",".join(QUEUE_NAMES)


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s: {predicate.__doc__ or predicate}")
        time.sleep(interval)


def _database_url() -> str:
    """The URL of the database this test runs against (the test database, not the dev one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + db["NAME"]))


class CeleryWorker:
    def __init__(
        self, *, env: dict[str, str], log_dir: Path, queues: str = QUEUES, name: str = "worker"
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self.queues = queues
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.starts = 0

    def start(self) -> CeleryWorker:
        self.starts += 1
        self.log_path = self.log_dir / f"{self.name}-{self.starts}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "pushmarketing", "worker",
            "-Q", self.queues, "-P", "solo", "-c", "1", "-l", "INFO",
            "-n", f"engine-test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes everything
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"celery worker exited at start:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        pytest.fail(f"celery worker not ready after {READY_TIMEOUT_SECONDS} s:\n{self.log()}")

    def restart(self, **env: str) -> CeleryWorker:
        """Stop, change the environment (e.g. PUSH_MAX_ATTEMPTS) and start again."""
        self.stop()
        self.env.update(env)
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgements, like a machine dying."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None


def _purge_redis_queues() -> None:
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES.split(","):
            channel.queue_purge(queue)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Path | None]:
    """This process publishes to empty queues of its own: on Redis the queues purged (the
    test Redis database is private), on the embedded default a broker folder under tmp_path
    (yielded, for a worker's PM_BROKER_DIR)."""
    if settings.REDIS_URL:
        _purge_redis_queues()
        yield None
        _purge_redis_queues()
        return
    saved = dict(celery_app.conf.broker_transport_options or {})
    broker = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (broker / sub).mkdir(parents=True, exist_ok=True)
    celery_app.conf.broker_transport_options = {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }
    _reset_producer_pools()
    yield broker
    celery_app.conf.broker_transport_options = saved
    _reset_producer_pools()


@pytest.fixture
def worker_env(
    push_simulator: Any, transactional_db: None, private_broker: Path | None
) -> dict[str, str]:
    """The worker's environment, on the same broker as this process (`private_broker`)."""

    env = dict(os.environ)
    env.update(simulator_env(push_simulator))
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="pushmarketing.settings",
        DATABASE_URL=_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        # Fast retries so transient-error tests finish in seconds (production: 30 s base).
        PUSH_RETRY_BASE_SECONDS="1",
        PUSH_RETRY_MAX_SECONDS="2",
        PUSH_SEND_TIMEOUT_SECONDS="10",
        # Same VAR_DIR: on the embedded default the file cache (follow-up de-duplication,
        # verification status) is shared through it.
        PM_VAR_DIR=str(settings.VAR_DIR),
    )
    if private_broker is None:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
        env["PM_BROKER_DIR"] = str(private_broker)
    return env


def _reset_producer_pools() -> None:
    # Connections made with the old broker options must not be reused.
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(worker_env: dict, tmp_path: Path) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(env=worker_env, log_dir=tmp_path)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker_lanes(worker_env: dict, tmp_path: Path) -> Iterator[tuple[CeleryWorker, CeleryWorker]]:
    """Production's lanes (docker-compose.yml): (sends worker, interactive worker)."""
    sends = CeleryWorker(env=worker_env, log_dir=tmp_path, queues="send,bulk,default")
    lane = CeleryWorker(env=worker_env, log_dir=tmp_path, queues="interactive", name="lane")
    try:
        yield sends.start(), lane.start()
    finally:
        lane.stop()
        sends.stop()
