"""Trigger pipeline benchmark: the SDK `activities` call driven open-loop at steady rates
against gunicorn (production config), PostgreSQL + Redis, real Celery workers and the push
simulator, and the time from each activity request to the provider receiving its push.

    .venv/bin/python bench/triggers.py [--rates 20,50,100,200,500] [--duration 30]
        [--devices 20000] [--latency-ms 20] [--burst 2000] [--send-workers 2]
        [--database pm_bench_triggers] [--redis-db 5]

An active trigger campaign ("every time") listens for a custom action; --devices eligible
devices (half iOS, half Android, each with a lead) report it. Per rate, for --duration seconds,
request i is sent at start + i / rate whatever the earlier ones are doing (open loop: a slow
server cannot slow the load down and hide its own latency), each for a different phone. Per
step it prints: API p50/p99 (from the scheduled send time), trigger latency p50/p95/p99/max
(scheduled send -> the simulator received the push), delivered/expected, duplicate pushes, and
the backlog when the load stopped (activities waiting in the trigger outbox, deliveries
queued). Then a burst of --burst activities as fast as the client can, and the time from its
last request to its last push. Targets on 2 cores: trigger p99 < 250 ms up to 200/s, API p99
< 50 ms at every rate, 0 lost, 0 duplicates.

The loader, gunicorn, the workers, PostgreSQL, Redis and the simulator share the machine's
cores; the figures are the whole system's, not any one part's.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import register  # noqa: E402 - gunicorn start-up and the child environment

ACTION = "bench_checkout"
LOADER = r"""
import asyncio, json, sys, time
import aiohttp

spec = json.load(sys.stdin)
base, auth, rate, paths = spec["base"], spec["auth"], spec["rate"], spec["paths"]
body = json.dumps([{"kind": "custom_action", "action_name": spec["action"]}])
headers = {"Authorization": auth, "Content-Type": "application/json"}
results = []

async def one(session, i, scheduled_epoch, scheduled):
    status = 0
    try:
        async with session.post(base + paths[i], data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except aiohttp.ClientError:
        pass
    results.append((i, scheduled_epoch, time.perf_counter() - scheduled, status))

async def main():
    connector = aiohttp.TCPConnector(limit=spec["connections"])
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        start, start_epoch = time.perf_counter(), time.time()
        for i in range(len(paths)):
            offset = i / rate if rate else 0.0
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, i, start_epoch + offset, start + offset)))
        await asyncio.gather(*tasks)
    json.dump(results, sys.stdout)

asyncio.run(main())
"""


def cpu_seconds(groups: dict[str, int]) -> dict[str, dict[int, float]]:
    """CPU time (user + system) so far of each process of each component: the processes of
    a process group, or the one process, of each value; PostgreSQL and Redis by name."""
    from bench.procstat import processes

    totals: dict[str, dict[int, float]] = {name: {} for name in [*groups, "postgres", "redis"]}
    by_pgid = {pgid: name for name, pgid in groups.items()}
    for proc in processes():
        name = by_pgid.get(proc.pgrp) or by_pgid.get(proc.pid)
        if name is None and proc.comm.startswith("postgres"):
            name = "postgres"
        elif name is None and proc.comm.startswith("redis-server"):
            name = "redis"
        if name is not None:
            totals[name][proc.pid] = proc.cpu_seconds
    return totals


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
    """Seconds per component between two readings. A process that exited in between (a
    PostgreSQL backend whose connection closed) takes its time with it: an undercount."""
    return {
        name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in procs.items())
        for name, procs in after.items()
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "pushmarketing.settings"
    import django

    django.setup()


def prepare(args: argparse.Namespace, env: dict[str, str], directory: str) -> SimpleNamespace:
    """A fresh database: the app, --devices eligible phones, the listening trigger campaign."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.fanout import app_create, push_create, seed_postgres
    from campaigns import services
    from campaigns.models import Campaign
    from devices.models import Device
    from pushmarketing.core.models import AddOn
    from pushmarketing.core.secrets import keyed_hash

    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    tag = uuid.uuid4().hex[:8]
    app = app_create(directory, tag)
    app.sdk_key = register.SDK_KEY
    app.sdk_secret_hash = keyed_hash(register.SDK_SECRET)
    app.save(update_fields=["sdk_key", "sdk_secret_hash"])
    seed_postgres(app, args.devices, tag)
    campaign = Campaign.objects.create(
        app=app, notification=push_create(app), name="Thanks for your order",
        kind=Campaign.Kind.TRIGGER, trigger={"event": "custom_action", "action_name": ACTION},
        qualification=Campaign.Qualification.EVERY_TIME,
    )  # fmt: skip
    services.campaign_start(actor=None, campaign=campaign)
    phones = list(
        Device.objects.filter(app=app).order_by("id").values_list("installation_id", "push_token")
    )
    return SimpleNamespace(app=app, campaign=campaign, phones=phones)


def backlog() -> tuple[int, int]:
    from campaigns.models import Delivery
    from devices.models import TriggerOutbox

    return TriggerOutbox.objects.count(), Delivery.objects.filter(status="queued").count()


def drive(base: str, auth: str, rate: float, paths: list[str], connections: int) -> list:
    spec = {"base": base, "auth": auth, "rate": rate, "paths": paths, "action": ACTION,
            "connections": connections}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", LOADER], input=json.dumps(spec), capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def receipts_since(since: float) -> list[dict]:
    from notifications.simulator import client as sim_client

    return sim_client.receipts(limit=50_000, since=since)


def settle(expected: int, since: float, timeout: float) -> list[dict]:
    """Receipts since `since`, once `expected` arrived or nothing new came for 10 s."""
    deadline, last, last_change = time.monotonic() + timeout, -1, time.monotonic()
    while True:
        got = receipts_since(since)
        if len(got) != last:
            last, last_change = len(got), time.monotonic()
        if len(got) >= expected or time.monotonic() > deadline:
            time.sleep(1.0)  # duplicates, if any, would land now
            return receipts_since(since)
        if time.monotonic() - last_change > 10 and not any(backlog()):
            return got
        time.sleep(0.25)


def step(args, world, base, auth, rate: float, count: int, first: int) -> dict:  # noqa: ANN001
    phones = [world.phones[(first + i) % len(world.phones)] for i in range(count)]
    paths = [f"/api/sdk/v1/devices/{installation}/activities" for installation, _ in phones]
    since = time.time()
    cpu_before = cpu_seconds(world.groups)
    results = drive(base, auth, rate, paths, args.connections)
    waiting = backlog()
    ok = [r for r in results if 200 <= r[3] < 300]
    got = settle(len(ok), since, timeout=max(120.0, count / 20))
    used = cpu_used(cpu_before, cpu_seconds(world.groups))
    cpu_ms = {k: seconds * 1000 / max(1, len(ok)) for k, seconds in used.items()}
    by_token: dict[str, list[float]] = {}
    for receipt in got:
        by_token.setdefault(receipt["token"], []).append(receipt["received_at"])
    latencies = []
    for i, scheduled_epoch, _, _ in ok:
        arrivals = by_token.get(phones[i][1], [])
        if arrivals:
            latencies.append(min(arrivals) - scheduled_epoch)
    sent_to = Counter(phones[i][1] for i, _, _, _ in ok)
    duplicates = sum(max(0, len(by_token.get(t, [])) - n) for t, n in sent_to.items())
    api = [r[2] for r in results]
    return {
        "rate": rate, "requests": len(results), "errors": len(results) - len(ok),
        "api_p50": pct(api, 0.5), "api_p99": pct(api, 0.99),
        "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "p99": pct(latencies, 0.99),
        "max": max(latencies, default=float("nan")), "delivered": len(latencies),
        "expected": len(ok), "duplicates": duplicates, "backlog": waiting,
        "last_request": max((r[1] + r[2] for r in results), default=since),
        "last_push": max((r["received_at"] for r in got), default=since),
        "cpu_ms": cpu_ms,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="20,50,100,200,500")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=int, default=20, help="simulator network latency")
    parser.add_argument("--burst", type=int, default=2000, help="0: no burst")
    parser.add_argument("--warmup", type=float, default=3, help="seconds at 20/s, unreported")
    parser.add_argument("--send-workers", type=int, default=2, help="Celery prefork processes")
    parser.add_argument("--connections", type=int, default=256, help="loader connection cap")
    parser.add_argument("--database", default="pm_bench_triggers")
    parser.add_argument("--redis-db", type=int, default=5)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    env = register.child_env(
        SimpleNamespace(database=args.database, db_options="", redis_db=args.redis_db)
    )
    env["LOG_LEVEL"] = "WARNING"
    # Production settings, pointed at the simulator (its local token endpoint included).
    env["PUSH_SIMULATOR_ENABLED"] = "1"
    import psycopg
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    with psycopg.connect(f"{register.PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    django_setup(env)  # before bench.transport, which sets Django up on import
    with tempfile.TemporaryDirectory(prefix="pm-triggers-") as directory:
        from bench import transport

        simulator = transport.start_simulator(directory)
        env.update(simulator.settings)
        processes = []
        try:
            world = prepare(args, env, directory)
            from django.conf import settings

            from bench.fanout import start_worker, stop
            from notifications.simulator import client as sim_client

            for name, value in simulator.settings.items():
                setattr(settings, name, int(value) if name.endswith("_PORT") else value)
            sim_client.configure(latency_ms=args.latency_ms)
            worker = start_worker(env, args.send_workers, Path(directory) / "worker.log")
            processes.append((worker, True))
            port = register.free_port()
            server = register.start_gunicorn(
                SimpleNamespace(workers=None, worker_class=None, threads=None), env, port
            )
            processes.append((server, True))
            world.groups = {"web": server.pid, "workers": worker.pid,
                            "simulator": simulator.process.pid}  # fmt: skip
            time.sleep(3)  # worker boot
            base = f"http://127.0.0.1:{port}"
            auth = (
                "Basic "
                + base64.b64encode(f"{register.SDK_KEY}:{register.SDK_SECRET}".encode()).decode()
            )
            print(f"trigger bench: {len(world.phones):,} devices, simulator latency "
                  f"{args.latency_ms} ms, {args.send_workers} worker processes, gunicorn "
                  f"{os.cpu_count()} sync workers, {args.duration:.0f} s per rate")  # fmt: skip
            print("| rate /s | API p50 / p99 | trigger p50 | p95 | p99 | max | delivered | "
                  "duplicates | backlog at end (outbox / queued) | CPU ms per trigger: web / "
                  "workers / PostgreSQL / Redis / simulator |")  # fmt: skip
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            first, holding = 0, None
            if args.warmup:
                # Not reported: opens the provider connections (and the APNs stream ramp),
                # the database connections and each process's caches, as a running system has.
                count = int(20 * args.warmup)
                step(args, world, base, auth, 20, count, first)
                first += count
            for rate in rates:
                count = int(rate * args.duration)
                r = step(args, world, base, auth, rate, count, first)
                first += count
                ms = lambda v: f"{v * 1000:,.0f} ms"  # noqa: E731
                print(f"| {rate:g} | {r['api_p50'] * 1000:.0f} / {r['api_p99'] * 1000:.0f} ms | "
                      f"{ms(r['p50'])} | {ms(r['p95'])} | {ms(r['p99'])} | {ms(r['max'])} | "
                      f"{r['delivered']}/{r['expected']}"
                      + (f" ({r['errors']} API errors)" if r["errors"] else "")
                      + f" | {r['duplicates']} | {r['backlog'][0]} / {r['backlog'][1]} | "
                      + " / ".join(f"{r['cpu_ms'][k]:.1f}" for k in
                                   ("web", "workers", "postgres", "redis", "simulator"))
                      + " |", flush=True)  # fmt: skip
                if r["p99"] < 0.25 and r["delivered"] == r["expected"]:
                    holding = rate
            print(f"highest rate holding trigger p99 < 250 ms: {holding or 'none'} /s")
            if args.burst:
                r = step(args, world, base, auth, 0, args.burst, first)
                print(f"burst of {args.burst:,} activities as fast as the client can: "
                      f"delivered {r['delivered']}/{r['expected']}, duplicates "
                      f"{r['duplicates']}, last push {r['last_push'] - r['last_request']:.2f} s "
                      f"after the last request answered (target < 10 s)")  # fmt: skip
        finally:
            for process, group in reversed(processes):
                stop(process, group=group)
            simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
