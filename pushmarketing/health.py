"""System health for admins: is each part reachable, how deep are the queues, how long their
oldest message and the oldest due delivery have waited. Every probe has a short timeout and
reports, never raises. A probe is OK, WARN (amber: slow, still working) or ALERT (red)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from campaigns.enqueue import queue_for_run_kind
from campaigns.ledger.counters import runs_counter_drift
from campaigns.models import CampaignRun, Delivery
from campaigns.selectors import deliveries_due_since_by_run_kind, delivery_longest_due
from devices.trigger_outbox import outbox_backlog
from pushmarketing.core.broker_queues import message_waiting_since, queue_heads
from pushmarketing.core.celery import QUEUES
from pushmarketing.core.celery import app as celery_app

LEDGER_WINDOW = timedelta(days=1)

T = TypeVar("T")


class Level(StrEnum):
    UNKNOWN = "unknown"  # could not be checked here: shown as such, raising no alarm
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"


LEVEL_RANK = {Level.UNKNOWN: -1, Level.OK: 0, Level.WARN: 1, Level.ALERT: 2}


@dataclass
class Probe:
    name: str
    level: Level
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """False only when red: amber means slow, and the part still works."""
        return self.level is not Level.ALERT


@dataclass(frozen=True)
class QueueState:
    name: str
    depth: int | None  # None: the broker could not be read
    waiting_seconds: int | None  # the oldest message's wait; None when empty or unknown
    level: Level


def worst_level(levels: list[Level]) -> Level:
    return max(levels, key=LEVEL_RANK.__getitem__, default=Level.OK)


def level_for(seconds: float, *, warn: int, alert: int) -> Level:
    if seconds >= alert:
        return Level.ALERT
    return Level.WARN if seconds >= warn else Level.OK


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def _not_checked(exc: Exception) -> str:
    return gettext("not checked: %(error)s") % {"error": exc.__class__.__name__}


def probe_database() -> Probe:
    def ping() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    try:
        _, ms = _timed(ping)
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe(
            gettext("Database"),
            Level.ALERT,
            gettext("unreachable: %(error)s") % {"error": exc.__class__.__name__},
        )
    return Probe(
        gettext("Database"),
        Level.OK,
        gettext("%(vendor)s, answered in %(ms).1f ms") % {"vendor": connection.vendor, "ms": ms},
    )


def probe_broker() -> Probe:
    kind = "Redis" if settings.REDIS_URL else gettext("filesystem (embedded)")
    try:
        with celery_app.connection_for_write() as conn:
            _, ms = _timed(lambda: conn.ensure_connection(max_retries=1, timeout=2))
    except Exception as exc:  # noqa: BLE001
        return Probe(
            gettext("Broker"),
            Level.ALERT,
            gettext("%(kind)s: unreachable (%(error)s)")
            % {"kind": kind, "error": exc.__class__.__name__},
        )
    return Probe(
        gettext("Broker"),
        Level.OK,
        gettext("%(kind)s, connected in %(ms).1f ms") % {"kind": kind, "ms": ms},
    )


def probe_workers() -> Probe:
    if not settings.REDIS_URL:
        # Not "OK": nothing here knows whether a worker runs. The queues' ages below do.
        return Probe(
            gettext("Workers"),
            Level.UNKNOWN,
            gettext(
                "not checked: the embedded filesystem broker cannot ask the workers; the queues "
                "below show whether messages are being taken"
            ),
        )
    try:
        inspector = celery_app.control.inspect(timeout=1.0)
        queues = inspector.active_queues() or {}
    except Exception as exc:  # noqa: BLE001
        return Probe(
            gettext("Workers"),
            Level.ALERT,
            gettext("could not ask the workers (%(error)s)") % {"error": exc.__class__.__name__},
        )
    if not queues:
        return Probe(gettext("Workers"), Level.ALERT, gettext("no worker answered within 1 s"))
    listing = {name: sorted(q["name"] for q in qs) for name, qs in queues.items()}
    alive = ngettext("%(n)s alive", "%(n)s alive", len(listing)) % {"n": len(listing)}
    return Probe(gettext("Workers"), Level.OK, alive, {"workers": listing})


def queue_depths() -> dict[str, int | None]:
    heads = queue_heads()
    if heads is None:
        return dict.fromkeys(QUEUES)
    return {queue: head.depth for queue, head in heads.items()}


def queue_age_thresholds(queue: str) -> tuple[int, int]:
    if queue == "bulk":
        return settings.BULK_QUEUE_AGE_WARN_SECONDS, settings.BULK_QUEUE_AGE_ALERT_SECONDS
    return settings.QUEUE_AGE_WARN_SECONDS, settings.QUEUE_AGE_ALERT_SECONDS


def queue_states() -> list[QueueState]:
    heads = queue_heads()
    if heads is None:
        return [QueueState(queue, None, None, Level.WARN) for queue in QUEUES]
    now = time.time()
    states = []
    for queue, head in heads.items():
        since = (
            message_waiting_since(head.oldest, stored_at=head.stored_at)
            if head.oldest is not None
            else None
        )
        waiting = max(0, int(now - since)) if since is not None else None
        warn, alert = queue_age_thresholds(queue)
        level = level_for(waiting or 0, warn=warn, alert=alert)
        states.append(QueueState(queue, head.depth, waiting, level))
    return states


def probe_queues(states: list[QueueState]) -> Probe:
    """Red or amber when a queue's oldest message has waited past its threshold, naming it."""
    if any(state.depth is None for state in states):
        return Probe(
            gettext("Queues"), Level.WARN, gettext("not checked: the broker could not be read")
        )
    late = sorted(
        (s for s in states if s.level is not Level.OK),
        key=lambda s: (-LEVEL_RANK[s.level], -(s.waiting_seconds or 0)),
    )
    extra = {"queues": {s.name: s.waiting_seconds for s in states}}
    if late:
        detail = "; ".join(_late_queue_text(state) for state in late)
        return Probe(gettext("Queues"), worst_level([s.level for s in late]), detail, extra)
    waiting = sum(s.depth or 0 for s in states)
    if not waiting:
        return Probe(gettext("Queues"), Level.OK, gettext("moving: no message waiting"), extra)
    oldest = max((s.waiting_seconds or 0 for s in states), default=0)
    detail = ngettext(
        "moving: %(n)s message waiting, the oldest for %(seconds)s s",
        "moving: %(n)s messages waiting, the oldest for %(seconds)s s",
        waiting,
    ) % {"n": f"{waiting:,}", "seconds": oldest}
    return Probe(gettext("Queues"), Level.OK, detail, extra)


def _late_queue_text(state: QueueState) -> str:
    warn, alert = queue_age_thresholds(state.name)
    depth = state.depth or 0
    return ngettext(
        "%(queue)s: the oldest of %(n)s message has waited %(seconds)s s (warning at %(warn)s s, "
        "alert at %(alert)s s)",
        "%(queue)s: the oldest of %(n)s messages has waited %(seconds)s s (warning at %(warn)s "
        "s, alert at %(alert)s s)",
        depth,
    ) % {
        "queue": state.name,
        "n": f"{depth:,}",
        "seconds": state.waiting_seconds,
        "warn": warn,
        "alert": alert,
    }


def oldest_queued_delivery() -> dict[str, Any] | None:
    # By age, which no index orders: PostgreSQL reads the queued rows from the in-flight
    # partial index and keeps the oldest. `order_by("id")` let it walk the primary key from
    # the table's first row instead, past every delivery already sent (525–755 ms behind 2.3M
    # sent rows; the retention window can hold far more).
    row = (
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .order_by("created_at", "id")
        .values("id", "run_id", "created_at", "not_before")
        .first()
    )
    if row is None:
        return None
    oldest: dict[str, Any] = dict(row)
    oldest["age_seconds"] = int((timezone.now() - row["created_at"]).total_seconds())
    return oldest


def delivery_age_thresholds(queue: str) -> tuple[int, int]:
    if queue == "bulk":  # a batch's rows wait as long as its chunks' messages
        return queue_age_thresholds(queue)
    return settings.QUEUED_DELIVERY_WARN_SECONDS, settings.QUEUED_DELIVERY_ALERT_SECONDS


@dataclass(frozen=True)
class LateLane:
    level: Level
    detail: str
    run_id: int


def deliveries_waited_by_lane(*, now: datetime) -> dict[str, tuple[int, list[str]]]:
    """{queue: (seconds its longest-waiting due delivery has waited, run kinds sent on it)}."""
    lanes: dict[str, tuple[int, list[str]]] = {}
    for kind, since in deliveries_due_since_by_run_kind(now=now).items():
        queue = queue_for_run_kind(kind)
        waited, kinds = lanes.get(queue, (0, []))
        lanes[queue] = (max(waited, int((now - since).total_seconds())), [*kinds, kind])
    return lanes


def _late_lane(queue: str, kinds: list[str], *, now: datetime) -> LateLane | None:
    """The lane's longest-waiting due delivery, named; None once it is sent or within limits."""
    row = delivery_longest_due(now=now, kinds=kinds)
    if row is None:
        return None
    warn, alert = delivery_age_thresholds(queue)
    waited = max(0, int((now - row["since"]).total_seconds()))
    level = level_for(waited, warn=warn, alert=alert)
    if level is Level.OK:
        return None
    detail = gettext(
        "%(queue)s: delivery #%(id)s of %(kind)s run #%(run)s has been due for %(seconds)s s "
        "(warning at %(warn)s s, alert at %(alert)s s)"
    ) % {
        "queue": queue,
        "id": row["id"],
        "kind": row["run__kind"],
        "run": row["run_id"],
        "seconds": waited,
        "warn": warn,
        "alert": alert,
    }
    return LateLane(level, detail, row["run_id"])


def probe_queued_deliveries(*, now: datetime) -> Probe:
    """Per lane (the queue a run's chunks go to), how long its longest-waiting due delivery
    has waited. Only a lane past its warning threshold costs a second query, to name the row."""
    name = gettext("Queued deliveries")
    try:
        lanes = deliveries_waited_by_lane(now=now)
        late = [
            lane
            for queue, (waited, kinds) in sorted(lanes.items(), key=lambda item: -item[1][0])
            if waited >= delivery_age_thresholds(queue)[0]
            and (lane := _late_lane(queue, kinds, now=now)) is not None
        ]
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe(name, Level.ALERT, _not_checked(exc))
    if late:
        level = worst_level([lane.level for lane in late])
        detail = "; ".join(lane.detail for lane in late)
        return Probe(name, level, detail, {"run_id": late[0].run_id})
    if not lanes:
        return Probe(name, Level.OK, gettext("none due and waiting"))
    queue, (waited, _) = max(lanes.items(), key=lambda item: item[1][0])
    detail = gettext("the longest-waiting due delivery (%(queue)s) for %(seconds)s s") % {
        "queue": queue,
        "seconds": waited,
    }
    return Probe(name, Level.OK, detail)


def probe_simulator() -> Probe | None:
    if not settings.PUSH_SIMULATOR_ENABLED:
        return None
    url = f"http://{settings.PUSH_SIMULATOR_HOST}:{settings.PUSH_SIMULATOR_FCM_PORT}/_sim/stats"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            stats = json.loads(response.read())
    except Exception as exc:  # noqa: BLE001
        return Probe(
            gettext("Push simulator"),
            Level.ALERT,
            gettext("not answering at %(url)s (%(error)s)")
            % {"url": url, "error": exc.__class__.__name__},
        )
    return Probe(gettext("Push simulator"), Level.OK, _simulator_summary(stats))


def _simulator_summary(stats: dict[str, Any]) -> str:
    parts = []
    for key, label in (("fcm", "FCM"), ("apns", "APNs")):
        counts = dict(stats.get(key) or {})
        total = counts.pop("requests", 0)
        by_status = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        requests = ngettext("%(provider)s %(n)s request", "%(provider)s %(n)s requests", total) % {
            "provider": label,
            "n": total,
        }
        parts.append(requests + (f" ({by_status})" if by_status else ""))
    config = stats.get("config") or {}
    parts.append(
        gettext("fault rate %(rate)s, latency %(ms)s ms")
        % {"rate": f"{config.get('fault_rate', 0):.0%}", "ms": config.get("latency_ms", 0)}
    )
    return gettext("answering — %(figures)s") % {"figures": " · ".join(parts)}


def probe_ledger() -> Probe:
    """Counters equal rows for the runs of the last day (the ledger's promise, checked)."""
    since = timezone.now() - LEDGER_WINDOW
    run_ids = list(
        CampaignRun.objects.filter(created_at__gte=since).values_list("pk", flat=True)[:500]
    )
    try:
        drift = runs_counter_drift(run_ids)
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe(gettext("Run counters"), Level.ALERT, _not_checked(exc))
    if drift:
        return Probe(gettext("Run counters"), Level.ALERT, "; ".join(drift[:5]))
    detail = ngettext(
        "equal to the delivery rows in %(n)s recent run",
        "equal to the delivery rows in %(n)s recent runs",
        len(run_ids),
    ) % {"n": len(run_ids)}
    return Probe(gettext("Run counters"), Level.OK, detail)


def probe_trigger_pipeline() -> Probe:
    """How far trigger evaluation is behind the SDK: activities waiting in the outbox."""
    try:
        waiting, oldest = outbox_backlog()
    except Exception as exc:  # noqa: BLE001 - a health page reports any failure
        return Probe(gettext("Trigger pipeline"), Level.ALERT, _not_checked(exc))
    if not waiting or oldest is None:
        return Probe(
            gettext("Trigger pipeline"),
            Level.OK,
            gettext("keeping up: no activity waits for evaluation"),
        )
    behind = max(0, int((timezone.now() - oldest).total_seconds()))
    detail = ngettext(
        "%(n)s activity waiting for evaluation, the oldest for %(seconds)s s",
        "%(n)s activities waiting for evaluation, the oldest for %(seconds)s s",
        waiting,
    ) % {"n": f"{waiting:,}", "seconds": behind}
    limit = settings.TRIGGER_BACKLOG_ALERT_SECONDS
    if behind >= limit:
        return Probe(
            gettext("Trigger pipeline"),
            Level.ALERT,
            gettext(
                "behind by %(seconds)s s (alert at %(limit)s s): %(detail)s. Triggers later than "
                "their campaign's send window are skipped; add send worker processes."
            )
            % {"seconds": behind, "limit": limit, "detail": detail},
            {"waiting": waiting, "behind_seconds": behind},
        )
    return Probe(
        gettext("Trigger pipeline"),
        Level.OK,
        detail,
        {"waiting": waiting, "behind_seconds": behind},
    )


def system_health() -> dict[str, Any]:
    now = timezone.now()
    states = queue_states()
    probes = [
        probe_database(),
        probe_broker(),
        probe_workers(),
        probe_queues(states),
        probe_queued_deliveries(now=now),
        probe_ledger(),
        probe_trigger_pipeline(),
    ]
    simulator = probe_simulator()
    if simulator is not None:
        probes.append(simulator)
    return {
        "probes": probes,
        "level": worst_level([p.level for p in probes]),
        "queue_states": states,
        "queues": {state.name: state.depth for state in states},
        "oldest_queued": oldest_queued_delivery(),
        "checked_at": now,
    }
