"""Registration benchmark: gunicorn with production's settings (pushmarketing/gunicorn_conf.py)
on PostgreSQL and Redis, driven by a separate load generator (wrk with a Lua script, or an
aiohttp client when wrk is missing).

    .venv/bin/python bench/register.py [--duration 6] [--rounds 5] [--connections 8]
        [--workers N] [--threads N] [--worker-class sync|gthread]
        [--trigger opened|installed|push_registered|none] [--database pm_bench]
        [--redis-db 1] [--loader auto|wrk|aiohttp] [--verbose]

Three targets against one gunicorn, on the same machine with the same loader and the same
request bodies, alternated in rounds, each round starting with the next target (medians are
printed; the ratios are medians of each round's own ratio, so load from outside the bench that
comes and goes weighs on both sides of a ratio alike):

1. the ceiling: a bare DRF endpoint (bench/ceiling.py, served only by the bench's URL conf)
   that authenticates by the same HTTP Basic scheme and inserts one row;
2. registration: each request is the first open of a new installation (distinct installation
   id and APNs token): the upsert plus three activity rows, the heaviest register statement,
   for an app with no trigger campaign listening, as for most opens of most apps;
3. the same for a second app with an active trigger campaign listening for `--trigger`
   (default `opened`): each call then also writes a trigger outbox row in the same statement
   (devices/trigger_outbox.py). `--trigger none` skips it.

Targets: registration ≥ 0.8× the ceiling with p99 < 50 ms at 8 connections; with the trigger
listening ≥ 0.9× registration without. Prints requests/s, p50, p99, errors and the gunicorn
workers' CPU per request of each (the figure that depends least on what else the machine is
doing), the two ratios, and the device count found in the database afterwards.

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
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

from bench.procstat import children_cpu_seconds, postgres_cpu_seconds  # noqa: E402

SDK_KEY = "pk_bench_00000001"
# A second app, whose active trigger campaign listens (--trigger): listening is per app, so
# the runs with and without a listener can alternate against one server.
TRIGGER_SDK_KEY = "pk_bench_00000002"
SDK_SECRET = "bench-secret-not-for-production"
# bench/ceiling.py's CEILING_PATH (that module needs Django's settings; this driver does not).
CEILING_PATH = "api/sdk/v1/bench/ceiling"
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
  return wrk.format("POST", "__PATH__", {
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
        # Production's settings with the ceiling endpoint added to the URL conf.
        DJANGO_SETTINGS_MODULE="bench.ceiling_settings",
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
    subprocess.run([PYTHON, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)


def add_trigger_campaign(event: str, env: dict[str, str]) -> None:
    """A second app with an active trigger campaign listening for `event`: each registration
    of that app also writes a trigger outbox row (nobody drains it here; the pump's wake-up
    messages are purged afterwards)."""
    seed = textwrap.dedent(
        f"""
        from campaigns.models import Campaign
        from devices.models import MobileApp
        from notifications.models import PushNotification
        from pushmarketing.core.secrets import keyed_hash
        app = MobileApp.objects.create(name="Bench trigger app", sdk_key={TRIGGER_SDK_KEY!r},
                                       sdk_secret_hash=keyed_hash({SDK_SECRET!r}))
        push = PushNotification.objects.create(app=app, name="Bench", message="Hi",
                                               status="approved")
        Campaign.objects.create(name="Bench trigger", kind="trigger", status="active",
                                app=app, notification=push, trigger={{"event": {event!r}}})
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


def run_wrk(args: argparse.Namespace, url: str, auth: str, duration: int) -> dict[str, float]:
    path = "/" + url.split("/", 3)[3]
    script = WRK_SCRIPT.replace("__AUTH__", auth).replace("__PATH__", path)
    return wrk_run(args, url, script, duration)


def wrk_run(args: argparse.Namespace, url: str, script: str, duration: int) -> dict[str, float]:
    """wrk with the Lua `script` against `url` for `duration` seconds: requests, requests/s,
    p50, p99 (ms) and errors (non-2xx answers and socket errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
        script_file.write(script)
    command = ["wrk", "-t", str(min(2, args.connections)), "-c", str(args.connections)]
    command += ["-d", f"{duration}s", "--latency", "-s", script_file.name, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script_file.name)
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


def run_aiohttp(args: argparse.Namespace, url: str, auth: str, duration: int) -> dict[str, float]:
    import json

    output = subprocess.run(
        [PYTHON, "-c", AIOHTTP_LOADER, url, auth, str(duration), str(args.connections)],
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


Loader = Callable[[argparse.Namespace, str, str, int], dict[str, float]]


def measure(
    args: argparse.Namespace, run: Loader, server: subprocess.Popen, url: str, auth: str
) -> dict[str, float]:
    """One measured run of the loader `run` and the CPU per request that gunicorn's workers
    and PostgreSQL used meanwhile."""
    cpu_before, pg_before = workers_cpu_seconds(server.pid), postgres_cpu_seconds()
    result = run(args, url, auth, args.duration)
    requests = max(1, result["requests"])
    result["cpu_ms"] = (workers_cpu_seconds(server.pid) - cpu_before) * 1000 / requests
    result["pg_cpu_ms"] = (postgres_cpu_seconds() - pg_before) * 1000 / requests
    return result


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def paired_ratio(
    measured: list[dict[str, float]], base: list[dict[str, float]]
) -> tuple[float, str]:
    """The median over rounds of measured/base requests/s within the same round, and the
    rounds' ratios. The two runs of a round are seconds apart, so load from outside the bench
    that comes and goes weighs on both alike; a ratio of the two separate medians could pair
    a quiet minute with a busy one."""
    ratios = [m["rps"] / b["rps"] for m, b in zip(measured, base, strict=True)]
    return statistics.median(ratios), " ".join(f"{r:.2f}" for r in ratios)


def report(label: str, result: dict[str, float]) -> None:
    print(
        f"  {label:<44} requests/s={result['rps']:6.0f}  p50={result['p50_ms']:5.1f} ms  "
        f"p99={result['p99_ms']:5.1f} ms  errors={result['errors']:.0f}  "
        f"CPU/request: gunicorn={result['cpu_ms']:.2f} ms PostgreSQL={result['pg_cpu_ms']:.2f} ms"
    )


def basic(sdk_key: str) -> str:
    return "Basic " + base64.b64encode(f"{sdk_key}:{SDK_SECRET}".encode()).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of (ceiling, registration, registration with a listener); medians "
        "are printed, so load from outside the bench that comes and goes weighs less",
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds per target, once")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, help="default: production's, one per core")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], help="default: sync")
    parser.add_argument(
        "--trigger",
        choices=["installed", "opened", "push_registered", "none"],
        default="opened",
        help="the third run: a trigger campaign listening for this activity",
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
    base = f"http://127.0.0.1:{port}/"
    register_url = base + "api/sdk/v1/devices/register"
    targets = {
        "ceiling": (base + CEILING_PATH, basic(SDK_KEY)),
        "register": (register_url, basic(SDK_KEY)),
    }
    if args.trigger != "none":
        add_trigger_campaign(args.trigger, env)
        targets["trigger"] = (register_url, basic(TRIGGER_SDK_KEY))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    try:
        load = run_wrk if loader == "wrk" else run_aiohttp
        for url, auth in targets.values():
            load(args, url, auth, args.warmup)
        names = list(targets)
        for round_number in range(args.rounds):
            # Each round starts with a different target, so none always runs first (on the
            # emptiest tables, or right after the warm-up).
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                url, auth = targets[name]
                runs[name].append(measure(args, load, server, url, auth))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if args.trigger != "none":
            purge_trigger_queue(env)
    results = {name: median_of(measured) for name, measured in runs.items()}
    devices = count_devices(env)
    shutil.rmtree(env["PM_VAR_DIR"], ignore_errors=True)
    print(
        f"register: loader={loader} connections={args.connections} "
        f"medians of {args.rounds} rounds of {args.duration}s "
        f"gunicorn: {args.workers or os.cpu_count()} {args.worker_class or 'sync'} workers"
        + (f" x {args.threads} threads" if args.threads else "")
    )
    report("ceiling (bare DRF: Basic auth + one INSERT)", results["ceiling"])
    report("registration (first open, 3 activities)", results["register"])
    if "trigger" in results:
        report(f"registration, a trigger listens for {args.trigger!r}", results["trigger"])
    ratio, spread = paired_ratio(runs["register"], runs["ceiling"])
    print(
        f"  registration / ceiling = {ratio:.2f} (target ≥ 0.80; rounds {spread}), "
        f"p99 {results['register']['p99_ms']:.1f} ms (target < 50 ms)"
    )
    if "trigger" in results:
        listening, spread = paired_ratio(runs["trigger"], runs["register"])
        print(
            f"  with a trigger listening / without = {listening:.2f} "
            f"(target ≥ 0.90; rounds {spread})"
        )
    print(f"  devices in db={devices}")


if __name__ == "__main__":
    main()
