"""Fan-out benchmark: a batch campaign to N devices through the real worker, broker, database
and push simulator, plus trigger latency.

    python bench/fanout.py --devices 1000000 [--resolve-only] [--triggers 300] [--workers N]
    python bench/fanout.py --table [--sizes 20000,200000] [--latencies 0,20,100]

Uses DATABASE_URL / REDIS_URL like the app (PostgreSQL + Redis for real figures; the SQLite +
filesystem-broker default works for a smoke run). It seeds N eligible devices (half iOS, half
Android, each with its own lead; PostgreSQL: one INSERT ... SELECT generate_series per table;
SQLite: executemany) in a fresh app, then prints:

- audience resolution time (CampaignRun + every delivery row, set-based);
- end-to-end messages/s (resolution start -> run completed, every row `sent`) and the
  simulator's receipt count, which must equal the delivery rows;
- the bare-transport ceiling in the same run (bench/transport.py's measurement, no DB/Celery);
- worker peak RSS (VmHWM over the worker's process group);
- with --table: one row per size and simulator latency (Apple's stream ramp on): end-to-end
  msg/s, the bare transports' rate for the half-and-half mix (measured right before and right
  after the run, averaged), their ratio, the CPU per 1,000 messages of the worker, of
  PostgreSQL and of the simulator (the three share the cores), and worker peak RSS;
- trigger latency p50/p99 (activity recorded -> simulator received the push) over --triggers
  activities recorded one at a time with their trigger outbox entry, as the SDK API does
  (bench/triggers.py drives the SDK API itself, at steady rates).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")
# The bench seeds with DEBUG on; the worker it measures runs with production's settings (see
# worker_env), and both read the credentials stored here with this key.
from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("PUSH_CREDENTIALS_KEY", Fernet.generate_key().decode())

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import transport  # noqa: E402 - its simulator start-up and its ceiling measurement
from bench.procstat import (  # noqa: E402
    group_cpu_seconds,
    postgres_cpu_seconds,
    process_cpu_seconds,
)
from campaigns import services  # noqa: E402
from campaigns.models import Campaign, CampaignRun, Delivery  # noqa: E402
from campaigns.resolve import run_resolve  # noqa: E402
from devices.models import Device, DeviceActivity, Lead, MobileApp  # noqa: E402
from devices.trigger_outbox import outbox_add  # noqa: E402
from notifications.content import PushContent  # noqa: E402
from notifications.models import PushNotification  # noqa: E402
from notifications.simulator import client as sim_client  # noqa: E402
from notifications.simulator.credentials import demo_credentials  # noqa: E402
from notifications.simulator.demo_app import simulator_credentials_install  # noqa: E402
from pushmarketing.core.models import AddOn  # noqa: E402

SEED_BATCH = 20_000


# --- processes ----------------------------------------------------------------------------


def worker_env(sim: dict[str, str]) -> dict[str, str]:
    """The worker's environment: production's settings (DEBUG off, so no query log, as a
    deployed worker), the bench's credentials key, the simulator on."""
    return {
        **os.environ,
        **sim,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-" + "x" * 40,
        "PUSH_SIMULATOR_ENABLED": "1",
    }


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "pushmarketing", "worker",
               "-Q", "interactive,send,bulk,default", "-P", "prefork", "-c", str(concurrency), "-l", "WARNING",
               "-n", f"fanout-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return process


def group_peak_rss_mb(pgid: int) -> float:
    """Largest VmHWM (peak resident set) among the worker's processes, in MB."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ProcessLookupError):
            continue
    return peak / 1024


def stop(process: subprocess.Popen, *, group: bool = False) -> None:
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()


# --- seeding ------------------------------------------------------------------------------


def app_create(directory: str, tag: str) -> MobileApp:
    creds = demo_credentials(directory)
    app = MobileApp.objects.create(
        name=f"Fan-out bench {tag}",
        ios_bundle_id=creds.apns_topic,
        android_package=f"com.example.bench{tag}",
        sdk_key=f"pk_bench_{tag}",
        sdk_secret_hash="x",
        app_type=MobileApp.AppType.PRODUCTION,
    )
    simulator_credentials_install(app=app, creds=creds)
    return app


def seed_postgres(app: MobileApp, n: int, tag: str) -> None:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO devices_lead (email, first_name, last_name, phone, company, city, "
            "country, custom_fields, created_at, updated_at) "
            "SELECT %s || g || '@example.com', 'Ada' || g, 'Bench', '', '', '', '', '{}'::jsonb, "
            "%s, %s FROM generate_series(1, %s) g",
            [f"bench-{tag}-", now, now, n],
        )
        # Even leads get an iOS device (64 hex digits, 'a0a0' = delivered by the simulator),
        # odd ones an Android device.
        cursor.execute(
            "INSERT INTO devices_device (app_id, platform, installation_id, push_token, "
            "token_updated_at, lead_id, first_opened_at, last_opened_at, push_enabled, "
            "is_test_device, test_device_name, locale, time_zone, app_version, os_version, "
            "device_model, status, status_reason, status_changed_at, created_at, updated_at) "
            "SELECT %s, CASE WHEN l.id %% 2 = 0 THEN 'ios' ELSE 'android' END, "
            "'bench-' || l.id, "
            "CASE WHEN l.id %% 2 = 0 THEN 'a0a0' || lpad(to_hex(l.id), 60, '0') "
            "ELSE 'ok-bench-' || l.id END, "
            "%s, l.id, %s, %s, true, false, '', 'en-US', 'UTC', '1.0', '17', 'bench', "
            "'active', '', NULL, %s, %s FROM devices_lead l WHERE l.email LIKE %s",
            [app.pk, now, now, now, now, now, f"bench-{tag}-%"],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
        cursor.execute("ANALYZE devices_lead")


def seed_sqlite(app: MobileApp, n: int, tag: str) -> None:
    now = timezone.now()
    for start in range(0, n, SEED_BATCH):
        stop_at = min(start + SEED_BATCH, n)
        leads = Lead.objects.bulk_create(
            [Lead(email=f"bench-{tag}-{i}@example.com", first_name=f"Ada{i}") for i in
             range(start, stop_at)]
        )  # fmt: skip
        Device.objects.bulk_create(
            [
                Device(
                    app=app,
                    platform="ios" if lead.pk % 2 == 0 else "android",
                    installation_id=f"bench-{lead.pk}",
                    push_token=f"a0a0{lead.pk:060x}" if lead.pk % 2 == 0 else f"ok-bench-{lead.pk}",
                    lead=lead,
                    first_opened_at=now,
                    last_opened_at=now,
                )
                for lead in leads
            ]
        )


def push_create(app: MobileApp) -> PushNotification:
    content = PushContent(message="Hi {{lead.First Name:default=there}}, 20% off this weekend.",
                          title="Weekend sale")  # fmt: skip
    return PushNotification.objects.create(
        app=app, name="Bench push", title=content.title, message=content.message,
        status=PushNotification.Status.APPROVED, approved_content=content.to_dict(),
    )  # fmt: skip


# --- measurements -------------------------------------------------------------------------


def wait_run(run_id: int, timeout: float) -> CampaignRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = CampaignRun.objects.get(pk=run_id)
        if run.status == CampaignRun.Status.COMPLETED:
            return run
        time.sleep(0.05)
    raise SystemExit(f"run {run_id} did not complete within {timeout:.0f} s")


def transport_ceiling(sim: dict[str, str], directory: str, count: int) -> list[str]:
    lines = []
    configs = transport.configs(sim, directory, settings.PUSH_SEND_CONCURRENCY)
    for provider in ("fcm", "apns"):
        figures = transport.measure(provider, configs[provider], count)
        lines.append(
            f"transport ceiling {provider.upper():4}: {figures['sent'] / figures['wall']:,.0f} "
            f"msg/s wall ({int(figures['sent'])}/{count} sent, "
            f"{figures['sent'] / max(figures['cpu'], 1e-9):,.0f} msg/client-CPU-s)"
        )
    from notifications.transports import runtime

    runtime.close_all()
    return lines


def trigger_latencies(
    app: MobileApp, push: PushNotification, count: int, interval: float
) -> list[float]:
    campaign = Campaign.objects.create(
        app=app, notification=push, name="Bench trigger", kind=Campaign.Kind.TRIGGER,
        trigger={"event": "opened"}, qualification=Campaign.Qualification.EVERY_TIME,
    )  # fmt: skip
    services.campaign_start(actor=None, campaign=campaign)
    devices = list(Device.objects.filter(app=app).order_by("id")[:count])
    fired: list[tuple[str, float]] = []
    for device in devices:
        started = time.time()
        with transaction.atomic():  # as the SDK API records it: the row and its outbox entry
            activity = DeviceActivity.objects.create(
                app=app, device=device, lead_id=device.lead_id, kind="opened",
                occurred_at=timezone.now(),
            )  # fmt: skip
            outbox_add([activity.pk], now=timezone.now())  # wakes the trigger pump on commit
        fired.append((device.push_token, started))
        time.sleep(interval)  # a steady trickle: latency, not a throughput test
    latencies = []
    deadline = time.monotonic() + 60
    for token, started in fired:
        while True:
            receipts = [
                r for r in sim_client.receipts(token, limit=20) if r["received_at"] >= started
            ]
            if receipts:
                latencies.append(min(r["received_at"] for r in receipts) - started)
                break
            if time.monotonic() > deadline:
                print(f"trigger for {token[:8]} not received within 60 s")
                break
            time.sleep(0.05)
    return latencies


def start_and_resolve(campaign: Campaign) -> CampaignRun:
    """Send now: campaign_start opens the run (`resolving`) and asks a worker to resolve it
    after commit; resolving it here, in the same transaction, times the resolution in this
    process (the worker's resolve task then finds the run resolved and does nothing)."""
    with transaction.atomic():
        services.campaign_start(actor=None, campaign=campaign)
        opened = campaign.runs.order_by("-id").first()
        assert opened is not None and opened.status == CampaignRun.Status.RESOLVING
        run = run_resolve(run_id=opened.pk)
    assert run is not None
    return run


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def mix_ceiling(sim: dict[str, str], directory: str, count: int) -> float:
    """The bare transports' rate for a half-iOS, half-Android audience in this run: each
    provider measured alone (bench/transport.py), combined as the time to send both halves."""
    configs = transport.configs(sim, directory, settings.PUSH_SEND_CONCURRENCY)
    seconds = 0.0
    for provider in ("fcm", "apns"):
        figures = transport.measure(provider, configs[provider], count // 2)
        seconds += figures["wall"] * (count // 2) / max(figures["sent"], 1)
    from notifications.transports import runtime

    runtime.close_all()
    return count / seconds


def vacuum() -> None:
    """PostgreSQL: reclaim the dead row versions the previous rows left (each delivery is
    written three times). A deployment's autovacuum does this as it goes; on a server with
    autovacuum off (this machine's), each row of the table would otherwise start on a more
    bloated table than the one before."""
    if not settings.USES_POSTGRES:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) campaigns_delivery, campaigns_campaignrun, devices_device")


def table_row(args: argparse.Namespace, directory: str, sim: dict[str, str], env: dict[str, str],
              simulator_pid: int, devices: int, latency_ms: int) -> str:  # fmt: skip
    """One row: a fresh app of `devices` phones sent one batch campaign at this latency."""
    tag = uuid.uuid4().hex[:8]
    app = app_create(directory, tag)
    (seed_postgres if settings.USES_POSTGRES else seed_sqlite)(app, devices, tag)
    campaign = Campaign.objects.create(
        app=app, notification=push_create(app), name=f"Bench {tag}", kind=Campaign.Kind.BATCH,
    )  # fmt: skip
    vacuum()
    sim_client.configure(latency_ms=latency_ms)
    # The ceiling is measured before and after the run and averaged: this machine's speed
    # drifts by a quarter within minutes, and a ratio that paired the run with one of the two
    # could lean either way.
    before = mix_ceiling(sim, directory, min(devices, args.transport_count))
    sim_client.reset()  # the run starts on an empty receipt store (the configuration stays)
    worker = start_worker(env, args.workers, Path(directory) / f"worker-{tag}.log")
    try:
        time.sleep(3)  # worker boot
        cpu_before = group_cpu_seconds(worker.pid)
        others_before = postgres_cpu_seconds(), process_cpu_seconds(simulator_pid)
        started = timezone.now()
        run = wait_run(start_and_resolve(campaign).pk, args.timeout)
        # To the run's own finish, as the worker stamped it, not to when the poll saw it.
        assert run.finished_at is not None
        elapsed = (run.finished_at - started).total_seconds()
        cpu = group_cpu_seconds(worker.pid) - cpu_before
        postgres_cpu = postgres_cpu_seconds() - others_before[0]
        simulator_cpu = process_cpu_seconds(simulator_pid) - others_before[1]
        rss = group_peak_rss_mb(worker.pid)
    finally:
        stop(worker, group=True)
    sent = Delivery.objects.filter(run=run, status=Delivery.Status.SENT).count()
    rate = sent / elapsed

    def per_thousand(seconds: float) -> str:
        return f"{seconds * 1000 / max(sent, 1) * 1000:,.0f} ms"

    after = mix_ceiling(sim, directory, min(devices, args.transport_count))
    ceiling = (before + after) / 2
    return (f"| {devices:,} | {latency_ms} ms | {rate:,.0f} | {ceiling:,.0f} ({before:,.0f} / "
            f"{after:,.0f}) | {rate / ceiling:.2f} "
            f"| {per_thousand(cpu)} | {per_thousand(postgres_cpu)} | {per_thousand(simulator_cpu)} "
            f"| {rss:.0f} MB | {sent:,}/{run.total:,} |")  # fmt: skip


def main_table(args: argparse.Namespace) -> int:
    """Every size at every latency, with Apple's stream ramp on (the simulator's default)."""
    sizes = [int(n) for n in args.sizes.split(",")]
    latencies = [int(ms) for ms in args.latencies.split(",")]
    print(f"fan-out table: {args.workers} prefork worker processes, PUSH_CHUNK_SIZE "
          f"{settings.PUSH_CHUNK_SIZE}, PUSH_SEND_CONCURRENCY {settings.PUSH_SEND_CONCURRENCY}, "
          "half iOS, simulator stream ramp on")  # fmt: skip
    print("| devices | latency | end to end msg/s | bare transport msg/s (before / after) | ratio | "
          "CPU per 1,000 msg: worker | PostgreSQL | simulator | worker peak RSS | sent |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="pm-fanout-") as directory:
        simulator = transport.start_simulator(directory)
        sim = simulator.settings
        try:
            env = worker_env(sim)
            for name, value in sim.items():
                setattr(settings, name, int(value) if name.endswith("_PORT") else value)
            for devices in sizes:
                for latency_ms in latencies:
                    row = table_row(
                        args, directory, sim, env, simulator.process.pid, devices, latency_ms
                    )
                    print(row, flush=True)
        finally:
            stop(simulator.process)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--resolve-only", action="store_true")
    parser.add_argument("--triggers", type=int, default=300)
    # One process more than the cores: a process waiting on its chunk's last provider answers
    # leaves its core to the others. With one per core, 100 ms of provider latency cost 19 %
    # of the 0 ms rate at 20,000 devices; with one more, nothing (README, fan-out).
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="worker processes (prefork); default: the cores + 1",
    )
    parser.add_argument(
        "--trigger-interval-ms", type=float, default=100, help="gap between activities"
    )
    parser.add_argument("--transport-count", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--table", action="store_true", help="the sizes x latencies table")
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--latencies", default="0,20,100", help="simulator latency, ms")
    args = parser.parse_args()
    if args.table:
        call_command("migrate", verbosity=0)
        AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
        return main_table(args)
    if args.devices < 2 or args.workers < 1 or args.triggers < 0:
        parser.error("--devices must be at least 2, --workers at least 1, --triggers >= 0")
    call_command("migrate", verbosity=0)
    for folder in ("data_folder_in", "processed_folder"):  # filesystem broker (no Redis)
        path = (settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get(folder)
        if path:
            Path(path).mkdir(parents=True, exist_ok=True)
    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    tag = uuid.uuid4().hex[:8]
    db = "PostgreSQL" if settings.USES_POSTGRES else "SQLite"
    broker = "Redis" if settings.REDIS_URL else "filesystem broker"
    print(f"fan-out bench {tag}: {args.devices:,} devices on {db} + {broker}")
    with tempfile.TemporaryDirectory(prefix="pm-fanout-") as directory:
        app = app_create(directory, tag)
        started = time.perf_counter()
        (seed_postgres if settings.USES_POSTGRES else seed_sqlite)(app, args.devices, tag)
        print(f"seeded {args.devices:,} devices + leads in {time.perf_counter() - started:.1f} s")
        push = push_create(app)
        campaign = Campaign.objects.create(
            app=app, notification=push, name=f"Bench batch {tag}", kind=Campaign.Kind.BATCH,
        )  # fmt: skip
        if args.resolve_only:
            started = time.perf_counter()
            with transaction.atomic():
                run = start_and_resolve(campaign)
                if settings.USES_POSTGRES:
                    # Run now the checks a commit would (deferred constraints): this figure
                    # once missed the delivery table's FK checks, ~40 % of a real resolution.
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                resolved = time.perf_counter() - started
                # Nothing to send: leave no queued rows (nor a "running" campaign) behind, and
                # enqueue nothing (the hand-offs wait for a commit that never comes).
                transaction.set_rollback(True)
            print(f"audience resolution: {run.total:,} deliveries in {resolved:.2f} s "
                  f"({run.total / resolved:,.0f} rows/s)")  # fmt: skip
            return 0

        simulator = transport.start_simulator(directory)
        sim = simulator.settings
        try:
            env = worker_env(sim)
            worker = start_worker(env, args.workers, Path(directory) / "worker.log")
            try:
                for name, value in sim.items():
                    setattr(settings, name, int(value) if name.endswith("_PORT") else value)
                time.sleep(3)  # worker boot
                sim_client.reset()
                started = time.perf_counter()
                run = start_and_resolve(campaign)
                resolved = time.perf_counter() - started
                print(f"audience resolution: {run.total:,} deliveries in {resolved:.2f} s")
                run = wait_run(run.pk, args.timeout)
                elapsed = time.perf_counter() - started
                sent = Delivery.objects.filter(run=run, status=Delivery.Status.SENT).count()
                stats = sim_client.stats()
                print(f"end to end: {sent:,}/{run.total:,} sent in {elapsed:.1f} s = "
                      f"{sent / elapsed:,.0f} msg/s (send phase {sent / (elapsed - resolved):,.0f} "
                      f"msg/s)")  # fmt: skip
                print(f"simulator stats: {stats}")
                if args.triggers:
                    latencies = trigger_latencies(
                        app, push, min(args.triggers, args.devices), args.trigger_interval_ms / 1000
                    )
                    if latencies:
                        print(f"trigger latency over {len(latencies)}: p50 {pct(latencies, .5) * 1000:.0f} "
                              f"ms, p99 {pct(latencies, .99) * 1000:.0f} ms, "
                              f"max {max(latencies) * 1000:.0f} ms "
                              f"(mean {statistics.mean(latencies) * 1000:.0f} ms)")  # fmt: skip
                print(f"worker peak RSS: {group_peak_rss_mb(worker.pid):.0f} MB "
                      f"({args.workers} prefork processes, largest)")  # fmt: skip
            finally:
                stop(worker, group=True)
            for line in transport_ceiling(sim, directory, args.transport_count):
                print(line)
        finally:
            stop(simulator.process)  # also when anything above fails
    return 0


if __name__ == "__main__":
    sys.exit(main())
