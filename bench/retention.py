"""Retention purge of a 1M-delivery run on PostgreSQL: seed the run (through the ledger) and a
recent run that must survive, end the old one 100 days ago with its report, then run the daily
purge while a writer updates the recent run's rows every 20 ms.

    python bench/retention.py [--deliveries 1000000] [--recent 50000] [--batch 5000]

Needs DATABASE_URL to name a PostgreSQL server; the database `pm_bench_retention` on it is
dropped and re-created. Prints the purge's total time, rows/s, the DELETE statements' p50 and
longest time (each is its own transaction: the longest a row lock is held), the concurrent
writer's longest wait, and whether the dashboard figures and the counters are unchanged."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "pm_bench_retention"


def _configure(base_url: str) -> None:
    import psycopg

    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class _Writer(threading.Thread):
    """Updates one row of the recent run every 20 ms on its own connection and keeps the
    longest wait: a purge that locked the table would show here."""

    def __init__(self, delivery_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.ids = delivery_ids
        self.stop = threading.Event()
        self.waits: list[float] = []

    def run(self) -> None:
        from django.db import connection

        from campaigns.models import Delivery

        i = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            Delivery.objects.filter(pk=self.ids[i % len(self.ids)]).update(attempts=2)
            self.waits.append(time.perf_counter() - started)
            i += 1
            time.sleep(0.02)
        connection.close()


def _timer(durations: list[float]) -> Callable[..., Any]:
    """A connection.execute_wrapper that times every DELETE."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if sql.startswith("DELETE"):
                durations.append(time.perf_counter() - started)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--recent", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        sys.exit("bench/retention.py needs DATABASE_URL to point at PostgreSQL")
    _configure(base)

    from django.db import connection
    from django.utils import timezone

    from bench.seed import app_create, push_create, seed_devices, seed_sent_run
    from campaigns.ledger.counters import runs_counter_drift
    from campaigns.models import CampaignRun, Delivery
    from campaigns.reports.figures import run_figures
    from campaigns.reports.refresh import run_report_refresh
    from campaigns.services import deliveries_purge

    started = time.perf_counter()
    old_app, recent_app = app_create(), app_create()
    seed_devices(app_id=old_app.pk, count=args.deliveries, prefix="old")
    seed_devices(app_id=recent_app.pk, count=args.recent, prefix="recent")
    old = seed_sent_run(app=old_app, notification=push_create(old_app))
    recent = seed_sent_run(app=recent_app, notification=push_create(recent_app))
    ended = timezone.now() - timedelta(days=100)
    CampaignRun.objects.filter(pk=old.pk).update(started_at=ended, finished_at=ended)
    run_report_refresh(run_id=old.pk)
    run_report_refresh(run_id=recent.pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seeded = time.perf_counter() - started
    old = CampaignRun.objects.select_related("report").get(pk=old.pk)
    before = run_figures(run=old).as_dict()

    writer = _Writer(list(Delivery.objects.filter(run=recent).values_list("pk", flat=True)[:500]))
    durations: list[float] = []
    writer.start()
    started = time.perf_counter()
    with connection.execute_wrapper(_timer(durations)):
        stats = deliveries_purge(now=timezone.now(), retention_days=90, batch_rows=args.batch)
    total = time.perf_counter() - started
    writer.stop.set()
    writer.join()

    old = CampaignRun.objects.select_related("report").get(pk=old.pk)
    same = run_figures(run=old).as_dict() == before
    left = Delivery.objects.filter(run=old).count()
    kept = Delivery.objects.filter(run=recent).count()
    drift = runs_counter_drift()
    ordered = sorted(durations)
    print(f"seeded {args.deliveries:,} + {args.recent:,} delivery rows in {seeded:.1f} s")
    print(f"purged {stats.rows:,} rows in {total:.2f} s: {stats.rows / total:,.0f} rows/s")
    print(
        f"{len(durations)} DELETE statements of <= {args.batch:,} rows (one transaction each): "
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, "
        f"p99 {ordered[int(0.99 * (len(ordered) - 1))] * 1000:.0f} ms, "
        f"longest {ordered[-1] * 1000:.0f} ms (budget 1000 ms)"
    )
    print(
        f"concurrent writer: {len(writer.waits)} single-row UPDATEs, "
        f"longest {max(writer.waits) * 1000:.0f} ms"
    )
    print(
        f"old run rows left {left}, recent run rows kept {kept:,}/{args.recent:,}, "
        f"dashboard figures unchanged: {same}, counter drift: {drift or 'none'}"
    )
    if ordered[-1] > 1.0 or left or kept != args.recent or not same or drift:
        sys.exit(1)


if __name__ == "__main__":
    main()
