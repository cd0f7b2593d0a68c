"""System health's and the metrics' due-delivery read behind a queued backlog.

    python bench/health_reads.py [--devices 300000] [--repeat 5]

Uses DATABASE_URL like the app (PostgreSQL for real figures). Seeds N devices in a fresh app
(bench/fanout.py's seeding), resolves one batch campaign without dispatching it, so its N rows
stay queued, and times `deliveries_due_since_by_run_kind` (what every metrics scrape and the
System health page run) against the aggregate over every queued row it replaced. The rows
are deleted afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django.db import connection, transaction  # noqa: E402
from django.db.models import Min, Q  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import fanout  # noqa: E402 - sets Django up, seeds devices
from campaigns import resolve, services  # noqa: E402
from campaigns.models import Campaign, CampaignRun, Delivery  # noqa: E402
from campaigns.selectors import deliveries_due_since_by_run_kind  # noqa: E402


def aggregate_over_queued_rows(now: datetime) -> dict[str, Any]:
    """The read before: one MIN over every queued, due row of an unpaused run."""
    rows = (
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .exclude(run__status=CampaignRun.Status.PAUSED)
        .values("run__kind")
        .annotate(since=Min(Coalesce("not_before", "created_at")))
    )
    return {row["run__kind"]: row["since"] for row in rows}


def best_ms(read: Callable[[], object], repeat: int) -> tuple[float, object]:
    answer = read()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = read()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # Resolve without dispatching: the rows stay queued, as behind a long backlog.
    resolve.deliveries_dispatch = lambda **_: 0  # type: ignore[assignment,misc]
    with tempfile.TemporaryDirectory(prefix="pm-health-") as directory:
        tag = uuid.uuid4().hex[:8]
        app = fanout.app_create(directory, tag)
        seed = fanout.seed_postgres if connection.vendor == "postgresql" else fanout.seed_sqlite
        seed(app, args.devices, tag)
        campaign = Campaign.objects.create(
            app=app, notification=fanout.push_create(app), name=f"Health {tag}",
            kind=Campaign.Kind.BATCH,
        )  # fmt: skip
        with transaction.atomic():
            services.campaign_start(actor=None, campaign=campaign)
            opened = campaign.runs.order_by("-id").first()
            assert opened is not None
            resolve.run_resolve(run_id=opened.pk)
        fanout.vacuum()
        try:
            now = timezone.now()
            queued = Delivery.objects.filter(run=opened, status=Delivery.Status.QUEUED).count()
            print(f"{queued:,} deliveries queued in one batch run")
            for name, read in (
                ("one probe per open run (now)", lambda: deliveries_due_since_by_run_kind(now=now)),
                (
                    "aggregate over the queued rows (before)",
                    lambda: aggregate_over_queued_rows(now),
                ),
            ):
                ms, answer = best_ms(read, args.repeat)
                print(f"{name}: {ms:.1f} ms (best of {args.repeat}) -> {answer}")
        finally:
            Delivery.objects.filter(run=opened).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
