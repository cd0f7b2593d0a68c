"""System health for admins: is each part reachable, how deep are the queues, and what is the
oldest delivery still waiting. Every probe has a short timeout and reports, never raises."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.ledger.counters import runs_counter_drift
from campaigns.models import CampaignRun, Delivery
from devices.trigger_outbox import outbox_backlog
from pushmarketing.core.celery import app as celery_app

QUEUES = ("send", "bulk", "default")
LEDGER_WINDOW = timedelta(days=1)

T = TypeVar("T")


@dataclass
class Probe:
    name: str
    ok: bool
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def probe_database() -> Probe:
    def ping() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    try:
        _, ms = _timed(ping)
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe("Database", False, f"unreachable: {exc.__class__.__name__}")
    return Probe("Database", True, f"{connection.vendor}, answered in {ms:.1f} ms")


def probe_broker() -> Probe:
    kind = "Redis" if settings.REDIS_URL else "filesystem (embedded)"
    try:
        with celery_app.connection_for_write() as conn:
            _, ms = _timed(lambda: conn.ensure_connection(max_retries=1, timeout=2))
    except Exception as exc:  # noqa: BLE001
        return Probe("Broker", False, f"{kind}: unreachable ({exc.__class__.__name__})")
    return Probe("Broker", True, f"{kind}, connected in {ms:.1f} ms")


def probe_workers() -> Probe:
    if not settings.REDIS_URL:
        return Probe(
            "Workers",
            True,
            "the embedded filesystem broker cannot broadcast; see the queue depths below",
        )
    try:
        inspector = celery_app.control.inspect(timeout=1.0)
        queues = inspector.active_queues() or {}
    except Exception as exc:  # noqa: BLE001
        return Probe("Workers", False, f"could not ask the workers ({exc.__class__.__name__})")
    if not queues:
        return Probe("Workers", False, "no worker answered within 1 s")
    listing = {name: sorted(q["name"] for q in qs) for name, qs in queues.items()}
    return Probe("Workers", True, f"{len(listing)} alive", {"workers": listing})


def queue_depths() -> dict[str, int | None]:
    if settings.REDIS_URL:
        try:
            with celery_app.connection_for_read() as conn:
                client = conn.default_channel.client
                return {queue: int(client.llen(queue)) for queue in QUEUES}
        except Exception:  # noqa: BLE001
            return dict.fromkeys(QUEUES)
    # str(): mypy may type the setting from its runtime value, a dict of str and bool.
    folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    names = [p.name for p in folder.glob("*.msg")] if folder.exists() else []
    return {queue: sum(1 for n in names if n.endswith(f".{queue}.msg")) for queue in QUEUES}


def oldest_queued_delivery() -> dict[str, Any] | None:
    row = (
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .order_by("id")
        .values("id", "run_id", "created_at", "not_before")
        .first()
    )
    if row is None:
        return None
    oldest: dict[str, Any] = dict(row)
    oldest["age_seconds"] = int((timezone.now() - row["created_at"]).total_seconds())
    return oldest


def probe_simulator() -> Probe | None:
    if not settings.PUSH_SIMULATOR_ENABLED:
        return None
    url = f"http://{settings.PUSH_SIMULATOR_HOST}:{settings.PUSH_SIMULATOR_FCM_PORT}/_sim/stats"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            stats = json.loads(response.read())
    except Exception as exc:  # noqa: BLE001
        return Probe("Push simulator", False, f"not answering at {url} ({exc.__class__.__name__})")
    return Probe("Push simulator", True, _simulator_summary(stats))


def _simulator_summary(stats: dict[str, Any]) -> str:
    parts = []
    for key, label in (("fcm", "FCM"), ("apns", "APNs")):
        counts = dict(stats.get(key) or {})
        total = counts.pop("requests", 0)
        by_status = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        parts.append(f"{label} {total} request(s)" + (f" ({by_status})" if by_status else ""))
    config = stats.get("config") or {}
    parts.append(
        f"fault rate {config.get('fault_rate', 0):.0%}, latency {config.get('latency_ms', 0)} ms"
    )
    return "answering — " + " · ".join(parts)


def probe_ledger() -> Probe:
    """Counters equal rows for the runs of the last day (the ledger's promise, checked)."""
    since = timezone.now() - LEDGER_WINDOW
    run_ids = list(
        CampaignRun.objects.filter(created_at__gte=since).values_list("pk", flat=True)[:500]
    )
    try:
        drift = runs_counter_drift(run_ids)
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe("Run counters", False, f"not checked: {exc.__class__.__name__}")
    if drift:
        return Probe("Run counters", False, "; ".join(drift[:5]))
    return Probe(
        "Run counters", True, f"equal to the delivery rows in {len(run_ids)} recent run(s)"
    )


def probe_trigger_pipeline() -> Probe:
    """How far trigger evaluation is behind the SDK: activities waiting in the outbox."""
    try:
        waiting, oldest = outbox_backlog()
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe("Trigger pipeline", False, f"not checked: {exc.__class__.__name__}")
    if not waiting or oldest is None:
        return Probe("Trigger pipeline", True, "keeping up: no activity waits for evaluation")
    behind = max(0, int((timezone.now() - oldest).total_seconds()))
    detail = (
        f"{waiting:,} activit{'y' if waiting == 1 else 'ies'} waiting for evaluation, "
        f"the oldest for {behind} s"
    )
    limit = settings.TRIGGER_BACKLOG_ALERT_SECONDS
    if behind >= limit:
        return Probe(
            "Trigger pipeline",
            False,
            f"behind by {behind} s (alert at {limit} s): {detail}. Triggers later than their "
            "campaign's send window are skipped; add send worker processes.",
            {"waiting": waiting, "behind_seconds": behind},
        )
    return Probe("Trigger pipeline", True, detail, {"waiting": waiting, "behind_seconds": behind})


def system_health() -> dict[str, Any]:
    probes = [
        probe_database(),
        probe_broker(),
        probe_workers(),
        probe_ledger(),
        probe_trigger_pipeline(),
    ]
    simulator = probe_simulator()
    if simulator is not None:
        probes.append(simulator)
    return {
        "probes": probes,
        "queues": queue_depths(),
        "oldest_queued": oldest_queued_delivery(),
        "checked_at": timezone.now(),
    }
