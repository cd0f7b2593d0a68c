"""In-app benchmark: the SDK's "what should I show now?" endpoint with 20 live in-app
campaigns and 100,000 devices on PostgreSQL, against the registration endpoint, on one
gunicorn with production's settings (pushmarketing/gunicorn_conf.py) and Redis, driven by wrk
(or an aiohttp client when wrk is missing). The harness is bench/register.py's.

    .venv/bin/python bench/inapp.py [--devices 100000] [--duration 6] [--rounds 3]
        [--connections 8] [--workers N] [--database pm_bench_inapp] [--redis-db 2]
        [--loader auto|wrk|aiohttp] [--verbose]

Two targets, alternated in rounds (medians printed; the ratio is the median of the rounds'
own ratios):

1. registration: each request the first open of a new installation (bench/register.py's
   heaviest register statement);
2. in-app: `GET /api/sdk/v1/devices/<id>/inapp?trigger=app_open` for a random one of the
   seeded devices (opened twice, with a lead): 15 of the 20 campaigns answer app_open, each
   with its audience compiled into the device read (bench/inapp_seed.py).

Targets: in-app ≥ 0.8× registration's requests/s, p99 < 30 ms at 8 connections. Prints
requests/s, p50, p99, errors and the gunicorn workers' CPU per request of each, the ratio,
and how many answers carried a message (a sample, read after the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

from bench.register import (  # noqa: E402
    SDK_KEY,
    basic,
    child_env,
    free_port,
    measure,
    median_of,
    paired_ratio,
    prepare_database,
    report,
    run_aiohttp,
    run_wrk,
    start_gunicorn,
    wrk_run,
)

WRK_GET_SCRIPT = r"""
local started = 0
function setup(thread)
  started = started + 1
  thread:set("tid", started)
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
end
request = function()
  local path = "__PATH__" .. math.random(1, __DEVICES__) .. "/inapp?trigger=app_open"
  return wrk.format("GET", path, {["Authorization"] = "__AUTH__"})
end
"""

AIOHTTP_GET_LOADER = r"""
import asyncio, json, random, sys, time
import aiohttp

base, auth, duration, connections, devices = (
    sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
latencies, errors = [], 0

async def worker(session, deadline):
    global errors
    while time.perf_counter() < deadline:
        url = f"{base}inst-{random.randint(1, devices)}/inapp?trigger=app_open"
        start = time.perf_counter()
        try:
            async with session.get(url, headers={"Authorization": auth}) as r:
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


def run_wrk_get(args: argparse.Namespace, base: str, auth: str, duration: int) -> dict[str, float]:
    path = "/" + base.split("/", 3)[3] + "inst-"
    script = (
        WRK_GET_SCRIPT.replace("__AUTH__", auth)
        .replace("__PATH__", path)
        .replace("__DEVICES__", str(args.devices))
    )
    return wrk_run(args, base, script, duration)


def run_aiohttp_get(
    args: argparse.Namespace, base: str, auth: str, duration: int
) -> dict[str, float]:
    command = [PYTHON, "-c", AIOHTTP_GET_LOADER, base, auth, str(duration)]
    command += [str(args.connections), str(args.devices)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def seed(args: argparse.Namespace, env: dict[str, str]) -> None:
    code = f"from bench.inapp_seed import seed; seed({args.devices}, {SDK_KEY!r})"
    subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True)


def sample_answers(base: str, auth: str, count: int, devices: int) -> tuple[int, int]:
    """(answers with a message, answers) over `count` devices spread across the seed."""
    shown = 0
    for n in range(1, devices + 1, max(1, devices // count)):
        request = urllib.request.Request(
            f"{base}inst-{n}/inapp?trigger=app_open", headers={"Authorization": auth}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            shown += json.loads(response.read())["message"] is not None
    return shown, len(range(1, devices + 1, max(1, devices // count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=6, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="seconds per target, once")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, help="default: production's, one per core")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--worker-class", choices=["gthread", "sync"], help="default: sync")
    parser.add_argument("--database", default="pm_bench_inapp")
    parser.add_argument("--db-options", default="")
    parser.add_argument("--redis-db", type=int, default=2)
    parser.add_argument("--loader", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "aiohttp"
    env = child_env(args)
    prepare_database(args, env)
    seed(args, env)
    port = free_port()
    server = start_gunicorn(args, env, port)
    base = f"http://127.0.0.1:{port}/"
    register_url = base + "api/sdk/v1/devices/register"
    inapp_base = base + "api/sdk/v1/devices/"
    auth = basic(SDK_KEY)
    runs: dict[str, list[dict[str, float]]] = {"register": [], "inapp": []}
    try:
        register = run_wrk if loader == "wrk" else run_aiohttp
        inapp = run_wrk_get if loader == "wrk" else run_aiohttp_get
        register(args, register_url, auth, args.warmup)
        inapp(args, inapp_base, auth, args.warmup)
        for _ in range(args.rounds):
            runs["register"].append(measure(args, register, server, register_url, auth))
            runs["inapp"].append(measure(args, inapp, server, inapp_base, auth))
        shown, asked = sample_answers(inapp_base, auth, 200, args.devices)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    results = {name: median_of(measured) for name, measured in runs.items()}
    shutil.rmtree(env["PM_VAR_DIR"], ignore_errors=True)
    print(
        f"inapp: loader={loader} connections={args.connections} devices={args.devices} "
        f"medians of {args.rounds} rounds of {args.duration}s "
        f"gunicorn: {args.workers or os.cpu_count()} {args.worker_class or 'sync'} workers"
        + (f" x {args.threads} threads" if args.threads else "")
    )
    report("registration (first open, 3 activities)", results["register"])
    report("in-app: what should I show now? (20 live)", results["inapp"])
    ratio, spread = paired_ratio(runs["inapp"], runs["register"])
    print(
        f"  in-app / registration = {ratio:.2f} (target ≥ 0.80; rounds {spread}), "
        f"p99 {results['inapp']['p99_ms']:.1f} ms (target < 30 ms)"
    )
    print(f"  answers with a message: {shown} of {asked} sampled devices")


if __name__ == "__main__":
    main()
