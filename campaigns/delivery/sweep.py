"""The sweeper (beat, every minute): work a dead worker or a lost message left behind.

- Rows stuck in `sending` belong to a worker that died mid-batch: they go back to `queued`
  (one attempt spent) and their ranges are dispatched again — within seconds when the
  claiming process's heartbeat stopped (`deliveries_sweep_orphans`, every 10 s), else after
  PUSH_SENDING_TIMEOUT_SECONDS. The claim makes this safe even
  if the original task is redelivered too: each row is claimed by one task only.
- Queued rows whose `not_before` passed long ago lost their follow-up task, and rows of a
  trigger, API or sample run due at once but still queued minutes later lost their send:
  dispatched again.
- A sending run with due rows that recorded nothing for minutes lost their messages (a worker
  killed between taking a message and claiming its rows): those ranges are dispatched again.
- Runs still `resolving` long after they were opened lost their resolve task: enqueued again
  (resolving is idempotent).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from campaigns import enqueue
from campaigns.delivery.dispatch import id_ranges
from campaigns.ledger.recovery import deleted_run_deliveries_drop, deliveries_requeue_stuck
from campaigns.ledger.runs import (
    run_lock_with_campaign,
    run_settle_by_id,
    runs_sending_without_work,
)
from campaigns.lifecycle import OPEN_RUN_STATUSES
from campaigns.models import CampaignRun, Delivery
from pushmarketing.core.liveness import alive, current_identity

logger = logging.getLogger(__name__)

S = Delivery.Status
OVERDUE_GRACE = timedelta(minutes=2)
OVERDUE_DEDUPE = 600
OVERDUE_BATCH = 50_000
# A claim this recent may belong to a process whose first beat is still being written.
ORPHAN_GRACE = timedelta(seconds=5)
# A sending run that recorded nothing this long while rows were due has lost their messages.
STALL_AFTER = timedelta(minutes=3)


def deliveries_sweep(*, now: datetime) -> int:
    """Requeue stuck `sending` rows; re-dispatch lost follow-ups and lost resolutions."""
    swept = deliveries_sweep_stuck(now=now)
    deliveries_redispatch_overdue(now=now)
    deliveries_redispatch_stalled(now=now)
    runs_resolve_stale(now=now)
    runs_settle_stray(now=now)
    return swept


def deliveries_sweep_orphans(*, now: datetime) -> int:
    """Rows still `sending` whose claiming process stopped beating (SIGKILL, OOM, a lost
    machine): requeued and dispatched now, not PUSH_SENDING_TIMEOUT_SECONDS later. Beat runs
    this every ORPHANS_SWEEP_SECONDS, so a dead worker's rows move again within the heartbeat
    TTL plus that interval (15 + 10 s)."""
    claimers = set(
        Delivery.objects.filter(status=S.SENDING)
        .exclude(claimed_by="")
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    dead = claimers - alive(claimers)
    if not dead:
        return 0
    cutoff = now - ORPHAN_GRACE
    orphans = Delivery.objects.filter(status=S.SENDING, claimed_by__in=dead, claimed_at__lt=cutoff)
    by_run: dict[int, list[int]] = defaultdict(list)
    for pk, run_id in orphans.values_list("id", "run_id")[:OVERDUE_BATCH]:
        by_run[run_id].append(pk)
    total = sum(
        _sweep_run(run_id=run_id, ids=ids, cutoff=cutoff, now=now) for run_id, ids in by_run.items()
    )
    if total:
        logger.warning("sweep: %s rows of stopped workers %s requeued", total, sorted(dead))
    return total


def deliveries_release_own(*, now: datetime) -> int:
    """A worker process shutting down (SIGTERM: a deploy) hands back the rows it still holds,
    at once: the next worker sends them without waiting for a heartbeat to expire."""
    identity = current_identity()
    if identity is None:
        return 0  # never claimed anything
    held = Delivery.objects.filter(status=S.SENDING, claimed_by=identity)
    by_run: dict[int, list[int]] = defaultdict(list)
    for pk, run_id in held.values_list("id", "run_id"):
        by_run[run_id].append(pk)
    cutoff = now + timedelta(seconds=1)  # every row this process holds, however recent
    total = sum(
        _sweep_run(run_id=run_id, ids=ids, cutoff=cutoff, now=now) for run_id, ids in by_run.items()
    )
    if total:
        logger.warning("shutdown: %s handed back %s claimed rows", identity, total)
    return total


def deliveries_sweep_stuck(*, now: datetime) -> int:
    """Requeue (or give up on) rows claimed longer ago than PUSH_SENDING_TIMEOUT_SECONDS, one
    transaction per run."""
    cutoff = now - timedelta(seconds=settings.PUSH_SENDING_TIMEOUT_SECONDS)
    stuck = Delivery.objects.filter(status=S.SENDING, claimed_at__lt=cutoff)
    by_run: dict[int, list[int]] = defaultdict(list)
    for pk, run_id in stuck.values_list("id", "run_id")[:OVERDUE_BATCH]:
        by_run[run_id].append(pk)
    total = 0
    for run_id, ids in by_run.items():
        total += _sweep_run(run_id=run_id, ids=ids, cutoff=cutoff, now=now)
    return total


@transaction.atomic
def _sweep_run(*, run_id: int, ids: list[int], cutoff: datetime, now: datetime) -> int:
    run = run_lock_with_campaign(run_id)
    if run is None:
        return deleted_run_deliveries_drop(run_id=run_id)
    requeued, failed = deliveries_requeue_stuck(run=run, ids=ids, cutoff=cutoff, now=now)
    if requeued:
        chunks = [(first, last, None) for first, last in id_ranges(requeued)]
        enqueue.chunks_send(
            run_id=run_id, chunks=chunks, queue=enqueue.queue_for_run_kind(run.kind)
        )
    logger.warning(
        "sweep: run %s requeued %s, gave up on %s stuck deliveries", run_id, len(requeued), failed
    )
    return len(requeued) + failed


def deliveries_redispatch_overdue(*, now: datetime) -> int:
    """Queued rows whose `not_before` passed more than OVERDUE_GRACE ago lost their follow-up
    (a broker restart without persistence, a clock skew): dispatch their ranges again. Each
    range at most once per OVERDUE_DEDUPE (a long backlog on `bulk` must not pile copies)."""
    waiting = (
        Q(not_before__lt=now - OVERDUE_GRACE)
        | Q(
            # Due at once in a latency run (a trigger pump that died between its commit and its
            # send, an API send whose message was lost): such rows never wait minutes. A batch
            # run's rows may wait their turn on `bulk` for long, so they are not counted here.
            not_before__isnull=True,
            created_at__lt=now - OVERDUE_GRACE,
            run_id__in=CampaignRun.objects.filter(status__in=OPEN_RUN_STATUSES)
            .exclude(kind=CampaignRun.Kind.BATCH)
            .values("pk"),
        )
        | Q(
            # A deleted run's rows (no database FK: campaigns.models.Delivery) whose send task
            # was lost too: nothing else would ever look at them. They are dropped below. NOT IN
            # (one hashed set of run ids), not NOT EXISTS (a lookup per queued row).
            ~Q(run_id__in=CampaignRun.objects.values("pk")),
            not_before__isnull=True,
            created_at__lt=now - OVERDUE_GRACE,
        )
    )
    overdue = Delivery.objects.filter(waiting, status=S.QUEUED).order_by("id")
    rows = [
        (pk, run_id, not_before or created_at)
        for pk, run_id, not_before, created_at in overdue.values_list(
            "id", "run_id", "not_before", "created_at"
        )[:OVERDUE_BATCH]
    ]
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
        if run_id not in kinds:
            deleted_run_deliveries_drop(run_id=run_id)
            continue
        chunks = [
            (first, last, None)
            for first, last in id_ranges(ids)
            if cache.add(f"pm:overdue:{run_id}:{first}:{last}:{stamp}", 1, OVERDUE_DEDUPE)
        ]
        enqueued += enqueue.chunks_send(
            run_id=run_id, chunks=chunks, queue=enqueue.queue_for_run_kind(kinds[run_id])
        )
    if enqueued:
        logger.warning("sweep: re-dispatched %s overdue chunk(s)", enqueued)
    return enqueued


def deliveries_redispatch_stalled(*, now: datetime) -> int:
    """A sending run with rows due now that has recorded nothing for STALL_AFTER lost the
    messages of those rows: a worker killed after taking a message but before claiming its
    rows (the filesystem broker has no acknowledgements; Redis restores unacknowledged
    messages only after its visibility timeout, an hour). Their ranges are dispatched again,
    each at most once per OVERDUE_DEDUPE; a run merely waiting its turn behind another's
    backlog gets copies its claims turn into no-ops."""
    stalled = CampaignRun.objects.filter(
        Q(progressed_at__lt=now - STALL_AFTER)
        | Q(progressed_at__isnull=True, created_at__lt=now - STALL_AFTER),
        status=CampaignRun.Status.SENDING,
    ).values_list("pk", "kind", "progressed_at")
    enqueued = 0
    for run_id, kind, progressed_at in stalled:
        due = Delivery.objects.filter(run_id=run_id, status=S.QUEUED).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )
        ids = list(due.order_by("id").values_list("id", flat=True)[:OVERDUE_BATCH])
        stamp = int(progressed_at.timestamp()) if progressed_at else 0
        chunks = [
            (first, last, None)
            for first, last in id_ranges(ids)
            if cache.add(f"pm:stalled:{run_id}:{first}:{last}:{stamp}", 1, OVERDUE_DEDUPE)
        ]
        enqueued += enqueue.chunks_send(
            run_id=run_id, chunks=chunks, queue=enqueue.queue_for_run_kind(kind)
        )
    if enqueued:
        logger.warning("sweep: re-dispatched %s chunk(s) of stalled runs", enqueued)
    return enqueued


def runs_resolve_stale(*, now: datetime) -> int:
    """Runs opened more than PUSH_SENDING_TIMEOUT_SECONDS ago and still resolving."""
    cutoff = now - timedelta(seconds=settings.PUSH_SENDING_TIMEOUT_SECONDS)
    stale = CampaignRun.objects.filter(status=CampaignRun.Status.RESOLVING, started_at__lt=cutoff)
    run_ids = [
        run_id
        for run_id in stale.values_list("pk", flat=True)
        if cache.add(f"pm:resolve-again:{run_id}", 1, settings.PUSH_SENDING_TIMEOUT_SECONDS)
    ]
    for run_id in run_ids:
        enqueue.run_resolve(run_id=run_id)
    if run_ids:
        logger.warning("sweep: resolving runs %s again", run_ids)
    return len(run_ids)


def runs_settle_stray(*, now: datetime) -> int:
    """The transaction that drains a run settles it, so this finds nothing unless that broke:
    it says so loudly and settles the run rather than leave a campaign running forever."""
    settled = 0
    for run_id in runs_sending_without_work():
        with transaction.atomic():
            if run_settle_by_id(run_id=run_id, now=now):
                logger.error("sweep: run %s was sending with nothing left; completed it", run_id)
                settled += 1
    return settled
