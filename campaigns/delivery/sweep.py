"""The sweeper: rows stuck in `sending` belong to a worker that died mid-batch.

They go back to `queued` (one attempt spent, so a row that kills its worker every time ends
`failed` instead of looping) and their ranges are dispatched again. The claim makes this safe
even if the original task is redelivered too: each row is claimed by one task only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F

from campaigns.delivery.dispatch import chunks_enqueue, id_ranges, queue_for_run_kind
from campaigns.delivery.record import runs_complete_finished
from campaigns.models import CampaignRun, Delivery

logger = logging.getLogger(__name__)

S = Delivery.Status
SWEPT_REASON = "worker stopped mid-send"
OVERDUE_GRACE = timedelta(minutes=2)
OVERDUE_DEDUPE = 600
OVERDUE_BATCH = 50_000


def deliveries_sweep(*, now: datetime) -> int:
    """Requeue stuck `sending` rows; re-dispatch retries whose follow-up task was lost."""
    swept = deliveries_sweep_stuck(now=now)
    deliveries_redispatch_overdue(now=now)
    return swept


@transaction.atomic
def deliveries_sweep_stuck(*, now: datetime) -> int:
    """Requeue (or give up on) rows claimed longer ago than PUSH_SENDING_TIMEOUT_SECONDS."""
    cutoff = now - timedelta(seconds=settings.PUSH_SENDING_TIMEOUT_SECONDS)
    stuck = Delivery.objects.select_for_update(skip_locked=True).filter(
        status=S.SENDING, claimed_at__lt=cutoff
    )
    rows = list(stuck.values_list("id", "run_id", "attempts"))
    if not rows:
        _complete_finished_runs(now)
        return 0
    limit = settings.PUSH_MAX_ATTEMPTS
    give_up = [pk for pk, _, attempts in rows if attempts + 1 >= limit]
    retry = [pk for pk, _, attempts in rows if attempts + 1 < limit]
    if give_up:
        _give_up(give_up, cutoff=cutoff)
    if retry:
        Delivery.objects.filter(id__in=retry, status=S.SENDING, claimed_at__lt=cutoff).update(
            status=S.QUEUED,
            claimed_at=None,
            not_before=None,
            attempts=F("attempts") + 1,
            reason=f"requeued: {SWEPT_REASON}",
        )
        _redispatch([(pk, run_id) for pk, run_id, attempts in rows if pk in set(retry)])
    logger.warning("sweep: requeued %s, gave up on %s stuck deliveries", len(retry), len(give_up))
    _complete_finished_runs(now)
    return len(rows)


def deliveries_redispatch_overdue(*, now: datetime) -> int:
    """Queued rows whose `not_before` passed more than OVERDUE_GRACE ago lost their follow-up
    (a broker restart without persistence, a clock skew): dispatch their ranges again. Each
    range at most once per OVERDUE_DEDUPE (a long backlog on `bulk` must not pile copies)."""
    overdue = Delivery.objects.filter(status=S.QUEUED, not_before__lt=now - OVERDUE_GRACE).order_by(
        "id"
    )
    rows = list(overdue.values_list("id", "run_id", "not_before")[:OVERDUE_BATCH])
    if not rows:
        return 0
    by_run: dict[int, list[int]] = defaultdict(list)
    for pk, run_id, _ in rows:
        by_run[run_id].append(pk)
    # The oldest due time makes the de-duplication key unique to this backlog.
    stamp = int(min(when for _, _, when in rows).timestamp() * 1000)
    kinds = dict(CampaignRun.objects.filter(pk__in=by_run).values_list("pk", "kind"))
    enqueued = 0
    for run_id, ids in by_run.items():
        chunks = [
            chunk
            for chunk in id_ranges(ids)
            if cache.add(f"pm:overdue:{run_id}:{chunk[0]}:{chunk[1]}:{stamp}", 1, OVERDUE_DEDUPE)
        ]
        chunks_enqueue(run_id=run_id, chunks=chunks, queue=queue_for_run_kind(kinds[run_id]))
        enqueued += len(chunks)
    if enqueued:
        logger.warning("sweep: re-dispatched %s overdue chunk(s)", enqueued)
    return enqueued


def _give_up(ids: list[int], *, cutoff: datetime) -> None:
    per_platform = (
        Delivery.objects.filter(id__in=ids).values("run_id", "platform").annotate(n=Count("id"))
    )
    counts = list(per_platform)
    Delivery.objects.filter(id__in=ids, status=S.SENDING, claimed_at__lt=cutoff).update(
        status=S.FAILED,
        attempts=F("attempts") + 1,
        reason=f"gave up after {settings.PUSH_MAX_ATTEMPTS} attempts: {SWEPT_REASON}",
    )
    for item in counts:
        field = f"failed_{item['platform']}"
        if hasattr(CampaignRun, field):
            CampaignRun.objects.filter(pk=item["run_id"]).update(**{field: F(field) + item["n"]})


def _redispatch(rows: list[tuple[int, int]]) -> None:
    by_run: dict[int, list[int]] = defaultdict(list)
    for pk, run_id in rows:
        by_run[run_id].append(pk)
    kinds = dict(CampaignRun.objects.filter(pk__in=by_run).values_list("pk", "kind"))
    for run_id, ids in by_run.items():
        chunks_enqueue(
            run_id=run_id, chunks=id_ranges(ids), queue=queue_for_run_kind(kinds[run_id])
        )


def _complete_finished_runs(now: datetime) -> None:
    # A run whose last chunk raced its completion check is closed here within a minute.
    runs_complete_finished(now=now)
