"""Registration benchmark: gunicorn with production's settings (pushmarketing/gunicorn_conf.py)
on PostgreSQL and Redis, driven by a separate load generator (wrk with a Lua script, or an
aiohttp client when wrk is missing).

    .venv/bin/python bench/register.py [--duration 10] [--connections 8] [--workers N]
        [--threads N] [--worker-class sync|gthread] [--database pm_bench] [--redis-db 1]
        [--loader auto|wrk|aiohttp] [--verbose]

Each request is the first open of a new installation (distinct installation id and APNs
token): the upsert plus three activity rows, the heaviest register statement. No trigger
campaign listens, as for most opens of most apps (`--trigger opened` adds one: each call then
also publishes a Celery message). Target: ≥ 1,000 registrations/s with p99
< 50 ms on 2 cores. Prints requests/s, p50, p99, errors, the device count found in the
database afterwards, and the gunicorn workers' CPU per registration (the figure that depends
least on what else the machine is doing).

The loader shares the machine's cores with gunicorn, PostgreSQL and Redis; on a busy machine
its own scheduling delays show up in the tail, so repeat a run before trusting a p99.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

from bench.procstat import children_cpu_seconds  # noqa: E402

SDK_KEY = "pk_bench_00000001"
SDK_SECRET = "bench-secret-not-for-production"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")

WRK_SCRIPT = r"""
local counter = 0
local started = 0
function setup(thread)
  -- sets the global `tid` inside that thread's own Lua state
  started = started + 1
  thread:set("tid", started)
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
  prefix = string.format("%s-%d-%d", os.time(), tid, math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local token = string.format("%016x%016x%032x", tid, counter, math.random(0, 2147483647))
  local body = '{"installation_id":"' .. id .. '","platform":"ios","push_token":"' .. token ..
    '","push_enabled":true,"locale":"en_US","time_zone":"Europe/Paris","app_version":"1.0",' ..
    '"os_version":"18.1","device_model":"iPhone16,2"}'
  return wrk.format("POST", "/api/sdk/v1/devices/register", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "__AUTH__",
  }, body)
end
"""

AIOHTTP_LOADER = r"""
import asyncio, json, sys, time, uuid
import aiohttp

url, auth, duration, connections = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
latencies, errors = [], 0

async def worker(session, deadline):
    global errors
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        body = {"installation_id": uuid.uuid4().hex, "platform": "ios",
                "push_token": uuid.uuid4().hex + uuid.uuid4().hex, "push_enabled": True}
        start = time.perf_counter()
        try:
            async with session.post(url, json=body, headers={"Authorization": auth}) as r:
                await r.read()
                if r.status >= 300:
                    errors += 1
        except aiohttp.ClientError:
            errors += 1
        latencies.append(time.perf_counter() - start)

async def main():
    deadline = time.perf_counter() + duration
    conn = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=conn) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session, deadline) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(json.dumps({"requests": len(latencies), "rps": len(latencies) / elapsed,
                      "p50_ms": pick(0.50), "p99_ms": pick(0.99), "errors": errors}))

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(args: argparse.Namespace) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        PUSH_CREDENTIALS_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"{PG_BASE}/{args.database}{args.db_options}",
        REDIS_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
        # The throttle still runs (one Redis INCRBY per lease of 25 calls), but must not cap
        # the bench.
        SDK_RATE_LIMIT="100000000/min",
        LOG_LEVEL="WARNING",
        PM_VAR_DIR=tempfile.mkdtemp(prefix="pm-bench-"),
    )
    return env


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    seed = textwrap.dedent(
        f"""
        from devices.models import MobileApp
        from pushmarketing.core.secrets import keyed_hash
        app = MobileApp.objects.create(name="Bench app", sdk_key={SDK_KEY!r},
                                       sdk_secret_hash=keyed_hash({SDK_SECRET!r}))
        """
    )
    if args.trigger:
        # An active trigger campaign listening for that activity: each registration then
        # also publishes a Celery message (nobody consumes them here; purged afterwards).
        seed += textwrap.dedent(
            f"""
            from campaigns.models import Campaign
            from notifications.models import PushNotification
            push = PushNotification.objects.create(app=app, name="Bench", message="Hi",
                                                   status="approved")
            Campaign.objects.create(name="Bench trigger", kind="trigger", status="active",
                                    app=app, notification=push, trigger={{"event": {args.trigger!r}}})
            """
        )
    subprocess.run([PYTHON, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen:
    # Production's settings (pushmarketing/gunicorn_conf.py); the options override them.
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "-c",
        "python:pushmarketing.gunicorn_conf",
        "pushmarketing.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    for option in ("workers", "worker_class", "threads"):
        if getattr(args, option) is not None:
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    if args.worker_class == "gthread":
        command += ["--keep-alive", "30"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/sdk/v1/devices/register")
        except urllib.error.HTTPError:
            return server  # 401/405: the app answers
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start within 30 s")


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's worker processes."""
    return children_cpu_seconds(master_pid)


def run_wrk(args: argparse.Namespace, url: str, auth: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.replace("__AUTH__", auth))
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, args.connections)),
            "-c",
            str(args.connections),
            "-d",
            f"{args.duration}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    if args.verbose:
        print(output)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "errors": errors,
    }


def run_aiohttp(args: argparse.Namespace, url: str, auth: str) -> dict[str, float]:
    import json

    output = subprocess.run(
        [PYTHON, "-c", AIOHTTP_LOADER, url, auth, str(args.duration), str(args.connections)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def count_devices(env: dict[str, str]) -> int:
    out = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from devices.models import Device; print(Device.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def purge_trigger_queue(env: dict[str, str]) -> None:
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).delete("send")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, help="default: production's, one per core")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], help="default: sync")
    parser.add_argument(
        "--trigger",
        choices=["installed", "opened", "push_registered"],
        help="add an active trigger campaign listening for this activity",
    )
    parser.add_argument("--database", default="pm_bench")
    parser.add_argument(
        "--db-options",
        default="",
        help="appended to DATABASE_URL, e.g. '?options=-c%%20synchronous_commit%%3Doff' to see "
        "how much of the tail is WAL flushes on a shared disk",
    )
    parser.add_argument("--redis-db", type=int, default=1)
    parser.add_argument("--loader", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "aiohttp"
    env = child_env(args)
    prepare_database(args, env)
    port = free_port()
    server = start_gunicorn(args, env, port)
    url = f"http://127.0.0.1:{port}/api/sdk/v1/devices/register"
    auth = "Basic " + base64.b64encode(f"{SDK_KEY}:{SDK_SECRET}".encode()).decode()
    try:
        cpu_before = workers_cpu_seconds(server.pid)
        result = (run_wrk if loader == "wrk" else run_aiohttp)(args, url, auth)
        cpu_used = workers_cpu_seconds(server.pid) - cpu_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if args.trigger:
            purge_trigger_queue(env)
    devices = count_devices(env)
    shutil.rmtree(env["PM_VAR_DIR"], ignore_errors=True)
    print(
        f"register: loader={loader} connections={args.connections} duration={args.duration}s "
        f"gunicorn: {args.workers or os.cpu_count()} {args.worker_class or 'sync'} workers"
        + (f" x {args.threads} threads" if args.threads else "")
        + (f", a trigger campaign listens for {args.trigger!r}" if args.trigger else "")
    )
    print(
        f"  requests/s={result['rps']:.0f}  p50={result['p50_ms']:.1f} ms  "
        f"p99={result['p99_ms']:.1f} ms  errors={result['errors']}  "
        f"requests={result['requests']}  devices in db={devices}"
    )
    # Load-independent: the app's CPU per registration (the database's CPU comes on top).
    print(f"  gunicorn CPU per registration={cpu_used * 1000 / max(1, result['requests']):.2f} ms")


if __name__ == "__main__":
    main()
