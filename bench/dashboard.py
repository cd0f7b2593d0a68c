"""Dashboard of a 1M-delivery run: seed it on PostgreSQL, refresh its report once, then time
the dashboard and the live-progress endpoint through Django's full request stack.

    python bench/dashboard.py [--deliveries 1000000] [--repeat 30]

Needs DATABASE_URL to name a PostgreSQL server; the database `pm_bench_dashboard` on it is
dropped and re-created. Prints seeding time, report refresh time and request latencies."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure(base_url: str) -> None:
    import psycopg

    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS pm_bench_dashboard")
        conn.execute("CREATE DATABASE pm_bench_dashboard")
    os.environ["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + "/pm_bench_dashboard"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        sys.exit("bench/dashboard.py needs DATABASE_URL to point at PostgreSQL")
    _configure(base)

    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from bench.seed import app_create, push_create, seed_devices, seed_sent_run, user_create
    from campaigns.reports.refresh import run_report_refresh
    from pushmarketing.core.models import AddOn

    AddOn.objects.update_or_create(code=AddOn.Code.MOBILE_PUSH, defaults={"enabled": True})
    app = app_create()
    started = time.perf_counter()
    seed_devices(app_id=app.pk, count=args.deliveries)
    # Through the ledger: the run is opened, its rows inserted and counted, then marked sent.
    run = seed_sent_run(app=app, notification=push_create(app))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeded = time.perf_counter() - started

    started = time.perf_counter()
    run_report_refresh(run_id=run.pk)
    refresh = time.perf_counter() - started

    client = Client()
    client.force_login(user_create(role="marketer"))
    timings: dict[str, list[float]] = {"dashboard": [], "progress": []}
    for name, url in (
        ("dashboard", reverse("run-dashboard", args=[run.pk])),
        ("progress", reverse("run-progress", args=[run.pk])),
    ):
        client.get(url)  # warm-up
        for _ in range(args.repeat):
            t = time.perf_counter()
            response = client.get(url)
            timings[name].append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.status_code

    print(f"deliveries in the run:        {args.deliveries:,}")
    print(f"seeding (devices+deliveries): {seeded:.1f} s")
    print(f"report refresh (background):  {refresh:.2f} s")
    for name, samples in timings.items():
        print(
            f"{name:<12} p50 {statistics.median(samples):6.1f} ms   p95 {_percentile(samples, 95):6.1f} ms"
            f"   max {max(samples):6.1f} ms   (n={len(samples)})"
        )


if __name__ == "__main__":
    main()
