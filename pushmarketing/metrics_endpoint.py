"""GET /metrics for Prometheus: the send path's counters (pushmarketing.core.metrics, merged
from every process's files in multiprocess mode) and gauges read at scrape time from the
broker and the database, never stored.

Off (404) unless METRICS_TOKEN is set; then only `Authorization: Bearer <METRICS_TOKEN>` is
answered. docker-compose's nginx refuses /metrics, so it is reached only on the internal
network (Prometheus scrapes web:8000 directly)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from campaigns.enqueue import queue_for_run_kind
from campaigns.models import CampaignRun
from campaigns.selectors import deliveries_due_since_by_run_kind, runs_unfinished_counts
from devices.trigger_outbox import outbox_backlog
from pushmarketing.health import queue_depths

logger = logging.getLogger(__name__)

UNFINISHED_RUN_STATUSES = [
    status
    for status in CampaignRun.Status.values
    if status not in (CampaignRun.Status.COMPLETED, CampaignRun.Status.CANCELLED)
]


class ScrapeTimeGauges:
    """Read at each scrape. A part that cannot be read is left out (and logged), so the
    counters still reach Prometheus while the database or the broker is down."""

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        try:
            yield from self._deliveries_waiting()
            yield from self._runs()
            yield from self._trigger_outbox()
        except DatabaseError as exc:
            logger.warning("metrics: database gauges left out: %s", exc.__class__.__name__)

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "pushmarketing_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue, length in queue_depths().items():
            if length is not None:  # None: the broker did not answer
                depth.add_metric([queue], length)
        yield depth

    def _deliveries_waiting(self) -> Iterator[Metric]:
        now = timezone.now()
        due_since = deliveries_due_since_by_run_kind(now=now)
        oldest: dict[str, float] = {}
        for kind in CampaignRun.Kind.values:
            queue = queue_for_run_kind(kind)
            age = (now - due_since[kind]).total_seconds() if kind in due_since else 0.0
            oldest[queue] = max(oldest.get(queue, 0.0), age)
        gauge = GaugeMetricFamily(
            "pushmarketing_oldest_queued_delivery_seconds",
            "How long the longest-waiting due delivery has waited, by the Celery queue its run "
            "sends on (0: none waiting).",
            labels=["queue"],
        )
        for queue, seconds in sorted(oldest.items()):
            gauge.add_metric([queue], seconds)
        yield gauge

    def _runs(self) -> Iterator[Metric]:
        counts = runs_unfinished_counts()
        gauge = GaugeMetricFamily(
            "pushmarketing_runs_in_progress",
            "Runs neither completed nor cancelled, by kind and status.",
            labels=["kind", "status"],
        )
        for kind in CampaignRun.Kind.values:
            for status in UNFINISHED_RUN_STATUSES:
                gauge.add_metric([kind, status], counts.get((kind, status), 0))
        yield gauge

    def _trigger_outbox(self) -> Iterator[Metric]:
        waiting, oldest = outbox_backlog()
        behind = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
        yield GaugeMetricFamily(
            "pushmarketing_trigger_outbox_waiting",
            "SDK activities waiting for trigger evaluation.",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "pushmarketing_trigger_outbox_oldest_seconds",
            "How long the oldest activity has waited for trigger evaluation (0: none).",
            value=behind,
        )


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        # This process's own counters (and prometheus-client's process and GC figures).
        registry.register(REGISTRY)
    registry.register(ScrapeTimeGauges())
    return registry


def _authorised(request: HttpRequest) -> bool:
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    given = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(given, expected)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse(status=404)
    if not _authorised(request):
        response = HttpResponse("a valid bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
