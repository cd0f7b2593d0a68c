"""The send path's Prometheus counters and histograms (the scrape endpoint is
`pushmarketing.metrics_endpoint`; gauges that read the database are computed there, at scrape
time, never stored).

With PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps every value in a memory-mapped
file per process in that folder (gunicorn's sync workers, Celery's prefork children), and the
endpoint merges the files. It names a process's files by its pid; docker-compose shares one
folder between the web and worker containers, where pids repeat (every container starts at 1),
so a file is named by host name *and* pid here: two processes writing one file would corrupt
both. Only counters and histograms live in the files, so a dead process's file is kept (its
counts still happened); the folder is emptied when the whole stack starts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from prometheus_client import Counter, Histogram, values

_HOST = socket.gethostname()


def _process_identifier() -> str:
    return f"{_HOST}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Must precede the first metric below: each value takes its storage class when created.
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)

PROVIDER_BY_PLATFORM = {"ios": "apns", "android": "fcm"}
# A delivery row's status after a send → the outcome label; `queued` after a send means
# "back in the queue for another attempt".
OUTCOME_BY_STATUS = {
    "sent": "sent",
    "token_invalid": "token_invalid",
    "failed": "failed",
    "skipped": "skipped",
    "queued": "retry",
}

MESSAGES = Counter(
    "pushmarketing_messages",
    "Delivery rows recorded by the send path, by provider and outcome "
    "(retry: put back in the queue for another attempt).",
    ["provider", "outcome"],
)
PROVIDER_REQUEST_SECONDS = Histogram(
    "pushmarketing_provider_request_duration_seconds",
    "One provider request, from leaving our in-flight bound to its answer (or timeout).",
    ["provider"],
    # APNs and FCM are 20-100 ms away from most data centres; the send timeout is 10 s.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def deliveries_recorded(counts: Mapping[tuple[str, str], int]) -> None:
    """Count rows the ledger wrote: {(status, platform): rows}."""
    for (status, platform), rows in counts.items():
        outcome = OUTCOME_BY_STATUS.get(status)
        if outcome is not None and rows:
            MESSAGES.labels(PROVIDER_BY_PLATFORM.get(platform, platform), outcome).inc(rows)


def provider_request_observe(*, provider: str, seconds: float) -> None:
    PROVIDER_REQUEST_SECONDS.labels(provider).observe(seconds)
