from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import enqueue as enqueue_module
from campaigns.delivery import ratelimit
from campaigns.delivery.dispatch import (
    deliveries_dispatch,
    deliveries_dispatch_ids,
    delivery_chunks_due,
)
from campaigns.delivery.sweep import deliveries_sweep
from campaigns.ledger.runs import run_settle_by_id
from campaigns.models import CampaignRun, Delivery
from tests.campaign_fixtures import deliveries_mark
from tests.delivery_fixtures import row_delete_without_cascade, run_create

pytestmark = pytest.mark.django_db
S = Delivery.Status


SEND = "campaigns.deliveries_send"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What reaches Celery once the transaction commits (campaigns.enqueue._send, the real
    after-commit seam left in place, so "nothing before commit" is observable)."""
    calls: list[dict] = []

    def record(name, args, *, queue, countdown=0.0):  # noqa: ANN001, ANN202
        calls.append(
            {"name": name, "args": tuple(args), "queue": queue, "countdown": countdown or None}
        )

    monkeypatch.setattr(enqueue_module, "_send", record)
    return calls


def test_dispatch_enqueues_one_task_per_chunk_after_commit(
    push_app, make_devices, sent, settings, django_capture_on_commit_callbacks,
    django_assert_num_queries,
):  # fmt: skip
    settings.PUSH_CHUNK_SIZE = 4
    run = run_create(app=push_app, devices=make_devices(10))
    deliveries_mark(run.deliveries.filter(id=run.deliveries.order_by("id")[1].id), status=S.SENT)

    with django_capture_on_commit_callbacks() as callbacks:
        with django_assert_num_queries(1):  # the chunk boundaries: one window query
            chunks = deliveries_dispatch(run=run)
        assert sent == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()

    ids = sorted(run.deliveries.filter(status=S.QUEUED).values_list("id", flat=True))
    assert chunks == 3
    assert [c["args"] for c in sent] == [
        (run.id, ids[0], ids[3]),
        (run.id, ids[4], ids[7]),
        (run.id, ids[8], ids[8]),
    ]
    assert {c["queue"] for c in sent} == {"bulk"}


def test_empty_run_enqueues_nothing_and_the_ledger_completes_it(push_app, enqueued):
    run = run_create(app=push_app, devices=[])
    assert deliveries_dispatch(run=run) == 0
    assert enqueued.tasks == []
    # Completion is the ledger's job (the transaction that drains a run settles it).
    assert run_settle_by_id(run_id=run.id, now=timezone.now())
    run.refresh_from_db()
    assert run.status == CampaignRun.Status.COMPLETED


def test_enqueue_refuses_unknown_queue(push_app):
    run = run_create(app=push_app, devices=[])
    with pytest.raises(ValueError, match="queue must be one of"):
        enqueue_module.chunks_send(run_id=run.id, chunks=[(1, 1, None)], queue="fast")


def test_chunks_cover_every_queued_row_exactly_once(push_app, make_devices):
    run = run_create(app=push_app, devices=make_devices(23))
    chunks = delivery_chunks_due(run_id=run.id, chunk_size=5)
    ids = sorted(run.deliveries.values_list("id", flat=True))
    covered = [i for first, last, _ in chunks for i in ids if first <= i <= last]
    assert covered == ids
    assert len(chunks) == 5


def test_sweeper_requeues_rows_of_a_dead_worker_and_redispatches(
    push_app, make_devices, sent, settings, django_capture_on_commit_callbacks
):
    settings.PUSH_SENDING_TIMEOUT_SECONDS = 60
    run = run_create(app=push_app, devices=make_devices(3, platform="ios"))
    old = timezone.now() - timedelta(minutes=5)
    stuck, fresh, poison = run.deliveries.order_by("id")
    Delivery.objects.filter(pk=stuck.pk).update(status=S.SENDING, claimed_at=old, attempts=1)
    Delivery.objects.filter(pk=fresh.pk).update(status=S.SENDING, claimed_at=timezone.now())
    Delivery.objects.filter(pk=poison.pk).update(
        status=S.SENDING, claimed_at=old, attempts=settings.PUSH_MAX_ATTEMPTS - 1
    )

    with django_capture_on_commit_callbacks(execute=True):
        swept = deliveries_sweep(now=timezone.now())

    stuck.refresh_from_db(), fresh.refresh_from_db(), poison.refresh_from_db()
    assert swept == 2
    assert (stuck.status, stuck.attempts, stuck.claimed_at) == (S.QUEUED, 2, None)
    assert stuck.reason == "requeued: worker stopped mid-send"
    assert fresh.status == S.SENDING  # still within its batch's time: not touched
    assert poison.status == S.FAILED
    assert poison.reason.startswith("gave up after")
    assert [c["args"] for c in sent] == [(run.id, stuck.id, stuck.id)]
    run.refresh_from_db()
    assert run.failed_ios == 1


def test_rows_of_a_worker_whose_heartbeat_stopped_are_requeued_within_seconds(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from campaigns.delivery.sweep import deliveries_sweep_orphans

    run = run_create(app=push_app, devices=make_devices(4))
    dead_row, alive_row, just_claimed, unnamed = run.deliveries.order_by("id")
    ten_seconds_ago = timezone.now() - timedelta(seconds=10)
    cache.set("pm:alive:web-2:4242:beating", 1, 15)  # a live worker's heartbeat
    for row, claimer, when in (
        (dead_row, "web-1:4141:stopped", ten_seconds_ago),  # no heartbeat: SIGKILLed
        (alive_row, "web-2:4242:beating", ten_seconds_ago),
        (just_claimed, "web-1:4141:stopped", timezone.now()),  # within the grace period
        (unnamed, "", ten_seconds_ago),  # claimed before claimers had names: the timeout's
    ):
        Delivery.objects.filter(pk=row.pk).update(
            status=S.SENDING, claimed_at=when, claimed_by=claimer
        )

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep_orphans(now=timezone.now()) == 1

    statuses = dict(run.deliveries.values_list("id", "status"))
    assert statuses == {
        dead_row.pk: S.QUEUED, alive_row.pk: S.SENDING,
        just_claimed.pk: S.SENDING, unnamed.pk: S.SENDING,
    }  # fmt: skip
    assert [c["args"] for c in sent] == [(run.id, dead_row.pk, dead_row.pk)]  # sent again


def test_a_stopping_worker_hands_back_what_it_still_holds(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    from campaigns.delivery.sweep import deliveries_release_own
    from campaigns.ledger.claim import deliveries_claim

    run = run_create(app=push_app, devices=make_devices(3))
    ids = sorted(run.deliveries.values_list("id", flat=True))
    mine = deliveries_claim(run_id=run.id, first_id=ids[0], last_id=ids[1], now=timezone.now())
    Delivery.objects.filter(pk=ids[2]).update(
        status=S.SENDING, claimed_at=timezone.now(), claimed_by="other:1:x"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_release_own(now=timezone.now()) == 2

    statuses = dict(run.deliveries.values_list("id", "status"))
    assert statuses == {ids[0]: S.QUEUED, ids[1]: S.QUEUED, ids[2]: S.SENDING}
    assert [c["args"] for c in sent] == [(run.id, mine[0], mine[1])]


def test_sweeper_redispatches_overdue_retries_once(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    run = run_create(app=push_app, devices=make_devices(2))
    run.deliveries.update(not_before=timezone.now() - timedelta(minutes=10), attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=timezone.now())
        deliveries_sweep(now=timezone.now())

    assert len(sent) == 1


def test_sweeper_redispatches_a_trigger_row_whose_send_was_lost_once(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    # A trigger pump that died between its commit and its inline send leaves rows due at once.
    lost = run_create(app=push_app, devices=make_devices(2), kind=CampaignRun.Kind.TRIGGER)
    waiting_turn = run_create(app=push_app, devices=make_devices(2))  # a batch run's backlog
    fresh = run_create(app=push_app, devices=make_devices(1), kind=CampaignRun.Kind.TRIGGER)
    Delivery.objects.filter(run__in=[lost, waiting_turn]).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=timezone.now())
        deliveries_sweep(now=timezone.now())

    ids = sorted(lost.deliveries.values_list("id", flat=True))
    assert [c["args"] for c in sent] == [(lost.id, ids[0], ids[1])]  # once, only the lost rows
    assert fresh.deliveries.get().status == S.QUEUED  # just made: its send is on its way


def test_sweeper_redispatches_a_stalled_runs_due_rows_once(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    # A worker killed after taking a chunk's message but before claiming its rows: nothing
    # will ever send them, and the run records nothing more.
    stalled = run_create(app=push_app, devices=make_devices(3))
    moving = run_create(app=push_app, devices=make_devices(2))
    held = stalled.deliveries.order_by("id").last()
    Delivery.objects.filter(pk=held.pk).update(not_before=timezone.now() + timedelta(hours=1))
    CampaignRun.objects.filter(pk=stalled.pk).update(
        progressed_at=timezone.now() - timedelta(minutes=5)
    )
    CampaignRun.objects.filter(pk=moving.pk).update(progressed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=timezone.now())
        deliveries_sweep(now=timezone.now())

    due = sorted(stalled.deliveries.exclude(pk=held.pk).values_list("id", flat=True))
    assert [c["args"] for c in sent] == [(stalled.id, due[0], due[-1])]  # once; not the held row


def test_recording_an_outcome_marks_the_run_as_moving(push_app, make_devices):
    from campaigns.ledger.counters import run_counters_add

    run = run_create(app=push_app, devices=make_devices(1))
    CampaignRun.objects.filter(pk=run.pk).update(progressed_at=None)
    run_counters_add(run_id=run.pk, counts={(S.SENT, "android"): 1})
    run.refresh_from_db()
    assert run.progressed_at is not None


def test_local_token_bucket_grants_up_to_capacity_then_waits(settings):
    settings.REDIS_URL = ""
    first = ratelimit.rate_take(key="t-local", per_minute=120, requested=5)
    second = ratelimit.rate_take(key="t-local", per_minute=120, requested=1)
    assert first.granted == 2  # a bucket of one second's worth: 2 tokens
    assert second.granted == 0 and 0 < second.wait_seconds <= 0.5


@pytest.mark.skipif(not __import__("os").environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_redis_token_bucket_is_shared(settings):
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("pm:rate:t-shared")
    grants = [ratelimit.rate_take(key="t-shared", per_minute=180, requested=2) for _ in range(3)]
    assert [g.granted for g in grants] == [2, 1, 0]
    assert grants[2].wait_seconds > 0


def test_dispatch_ids_sends_just_those_rows_on_send_queue(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    run = run_create(app=push_app, devices=make_devices(3), kind=CampaignRun.Kind.TRIGGER)
    ids = sorted(run.deliveries.values_list("id", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_dispatch_ids(run=run, delivery_ids=[ids[2]]) == 1

    assert [(c["args"], c["queue"]) for c in sent] == [((run.id, ids[2], ids[2]), "send")]


def test_local_time_rows_are_chunked_per_send_minute_with_countdown(
    push_app, make_devices, sent, settings, django_capture_on_commit_callbacks
):
    settings.PUSH_CHUNK_SIZE = 500
    run = run_create(app=push_app, devices=make_devices(9))
    rows = list(run.deliveries.order_by("id"))
    in_ten_minutes = timezone.now() + timedelta(minutes=10)
    # Interleaved time zones: rows 0, 3, 6 now; 1, 4, 7 in ten minutes; 2, 5, 8 in two hours.
    Delivery.objects.filter(id__in=[r.id for r in rows[1::3]]).update(not_before=in_ten_minutes)
    Delivery.objects.filter(id__in=[r.id for r in rows[2::3]]).update(
        not_before=timezone.now() + timedelta(hours=2)
    )
    # A row waiting for a retry belongs to its own follow-up, not to a dispatch.
    Delivery.objects.filter(id=rows[0].id).update(
        attempts=1, not_before=timezone.now() + timedelta(seconds=30)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_dispatch(run=run) == 3
        # Dispatching the same run again (a trigger stream) does not schedule future chunks twice.
        assert deliveries_dispatch(run=run) == 1

    by_range = {c["args"][1:]: c["countdown"] for c in sent[:3]}
    assert by_range[(rows[3].id, rows[6].id)] is None  # due now
    assert 590 < by_range[(rows[1].id, rows[7].id)] <= 600.1
    assert by_range[(rows[2].id, rows[8].id)] == 1800  # hops: at most 30 minutes per ETA


def test_sweeper_drops_the_rows_of_a_deleted_run_and_sweeps_the_others(
    push_app, make_devices, sent, django_capture_on_commit_callbacks
):
    # Rows a trigger fire added while the run's campaign was deleted (no database FK stops
    # that): overdue retries and rows left `sending` by a worker that died.
    long_ago = timezone.now() - timedelta(hours=1)
    gone = run_create(app=push_app, devices=make_devices(2))
    gone_ids = list(gone.deliveries.values_list("id", flat=True))
    Delivery.objects.filter(pk=gone_ids[0]).update(not_before=long_ago, attempts=1)
    Delivery.objects.filter(pk=gone_ids[1]).update(status=S.SENDING, claimed_at=long_ago)
    # And a batch run whose rows were queued long ago and whose send task was lost with it.
    lost = run_create(app=push_app, devices=make_devices(2))
    lost.deliveries.update(created_at=long_ago)
    gone_ids += list(lost.deliveries.values_list("id", flat=True))
    row_delete_without_cascade(CampaignRun, lost.pk)
    kept = run_create(app=push_app, devices=make_devices(1))
    kept.deliveries.update(not_before=long_ago, attempts=1)
    row_delete_without_cascade(CampaignRun, gone.pk)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep(now=timezone.now())

    assert not Delivery.objects.filter(id__in=gone_ids).exists()
    assert [c["args"][0] for c in sent if c["name"] == SEND] == [kept.id]
