"""A batch campaign driven by random sequences of what marketers, workers and the sweeper do:
send now, send again, pause, resume, cancel, resolve, send a chunk (or part of one), a worker
dying with rows claimed, the sweeper, time passing for retries. After every step the ledger
must hold together: counters equal rows, one open run at most and in the status its campaign's
status implies, a finished run has nothing in flight, no device is pushed more often than its
row's attempts, and a phone whose push went through is never pushed again in the same run."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from campaigns import services
from campaigns.delivery.send import deliveries_send
from campaigns.delivery.sweep import deliveries_sweep
from campaigns.ledger.claim import deliveries_claim
from campaigns.ledger.counters import runs_counter_drift
from campaigns.lifecycle import LifecycleError
from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.resolve import run_resolve
from notifications.transports.base import OutgoingPush
from tests.campaign_fixtures import configure_app, device, make_campaign
from tests.factories import MobileAppFactory

pytestmark = pytest.mark.django_db
C, R, S = Campaign.Status, CampaignRun.Status, Delivery.Status
OPEN = (R.RESOLVING, R.SENDING, R.PAUSED)
# The open runs each campaign status allows: pausing before the audience is resolved leaves
# the run resolving, and resolving a paused campaign's run leaves it paused; a paused
# campaign's run may also finish (an empty audience, the last chunk in flight at the pause),
# and the campaign stays paused until resumed, which completes it (RESUME_FINISHED).
OPEN_RUN_FOR = {
    C.RUNNING: [[R.RESOLVING], [R.SENDING]],
    C.PAUSED: [[R.RESOLVING], [R.PAUSED], []],
}
TOKENS = st.sampled_from(["ok", "ok", "ok", "dead", "bad", "busy"])


def test_random_action_sequences_keep_the_ledger_whole(addon_on, enqueued, scripted_transport):
    class Lifecycle(RuleBasedStateMachine):
        @initialize(
            tokens=st.lists(st.tuples(TOKENS, st.sampled_from(["ios", "android"])), max_size=6)
        )
        def campaign(self, tokens: list[tuple[str, str]]) -> None:
            # The audience is the app's devices: each example gets an app of its own.
            self.app = configure_app(MobileAppFactory())
            for n, (prefix, platform) in enumerate(tokens):
                token = f"{prefix}-{n}" if platform == "android" else f"{prefix}-{n:060x}"
                device(self.app, platform=platform, push_token=token)
            self.campaign = make_campaign(app=self.app)
            self.sent_before = len(scripted_transport.sent)
            self.pushed_at_cancel: dict[int, int] = {}

        def _act(self, action) -> None:  # noqa: ANN001
            self.campaign.refresh_from_db()
            # Refused by the state table: the invariants check that nothing came apart.
            with contextlib.suppress(LifecycleError):
                action(actor=None, campaign=self.campaign)

        @rule()
        def send_now(self) -> None:
            self._act(services.campaign_start)

        @rule()
        def send_again(self) -> None:
            self._act(services.campaign_send_again)

        @rule()
        def pause(self) -> None:
            self._act(services.campaign_pause)

        @rule()
        def resume(self) -> None:
            self._act(services.campaign_resume)

        @rule()
        def cancel(self) -> None:
            self._act(services.campaign_cancel)

        @rule()
        def resolve(self) -> None:
            for run in self.campaign.runs.filter(status=R.RESOLVING):
                run_resolve(run_id=run.pk)

        def _range(self, data) -> tuple[int, int, int] | None:  # noqa: ANN001
            rows = Delivery.objects.filter(run__campaign=self.campaign)
            ids = sorted(rows.values_list("id", flat=True))
            if not ids:
                return None
            first = data.draw(st.sampled_from(ids))
            last = data.draw(st.sampled_from([i for i in ids if i >= first]))
            return Delivery.objects.get(pk=first).run_id, first, last

        @rule(data=st.data())
        def send_chunk(self, data) -> None:  # noqa: ANN001
            picked = self._range(data)
            if picked is not None:
                run_id, first, last = picked
                deliveries_send(run_id=run_id, first_id=first, last_id=last)

        @rule(data=st.data())
        def worker_dies_holding_a_chunk(self, data) -> None:  # noqa: ANN001
            picked = self._range(data)
            if picked is None:
                return
            run_id, first, last = picked
            claimed = deliveries_claim(
                run_id=run_id, first_id=first, last_id=last, now=timezone.now()
            )
            # Some pushes went out before the process died, none recorded: the sweeper spends
            # an attempt on each row it hands back, so the re-send stays within the attempts.
            gone_out = data.draw(st.lists(st.sampled_from(claimed), unique=True)) if claimed else []
            scripted_transport(
                credential=None,
                app=None,
                pushes=[OutgoingPush(delivery_id=pk, token="ok-", body={}) for pk in gone_out],
            )

        @rule()
        def sweeper_runs_after_the_timeout(self) -> None:
            later = timezone.now() + timedelta(
                seconds=django_settings.PUSH_SENDING_TIMEOUT_SECONDS + 1
            )
            deliveries_sweep(now=later)

        @rule()
        def retries_come_due(self) -> None:
            Delivery.objects.filter(
                run__campaign=self.campaign, status=S.QUEUED, not_before__isnull=False
            ).update(not_before=timezone.now() - timedelta(seconds=1))

        @invariant()
        def counters_equal_rows(self) -> None:
            assert runs_counter_drift() == []

        @invariant()
        def one_open_run_in_the_status_the_campaign_implies(self) -> None:
            if not hasattr(self, "campaign"):
                return
            self.campaign.refresh_from_db()
            open_runs = list(self.campaign.runs.filter(status__in=OPEN))
            assert len(open_runs) <= 1, open_runs
            allowed = OPEN_RUN_FOR.get(self.campaign.status)
            if allowed is None:
                assert open_runs == [], (self.campaign.status, open_runs)
            else:
                assert [run.status for run in open_runs] in allowed, (
                    self.campaign.status,
                    open_runs,
                )

        @invariant()
        def completed_runs_have_nothing_in_flight(self) -> None:
            # A cancelled run may still hold rows a worker claimed before the cancel (or died
            # holding): they settle as the worker records them or the sweeper hands them back
            # (teardown drains them). A completed run was completed by its last row's record.
            if not hasattr(self, "campaign"):
                return
            in_flight = Delivery.objects.filter(
                run__campaign=self.campaign,
                run__status=R.COMPLETED,
                status__in=[S.QUEUED, S.SENDING],
            )
            assert not in_flight.exists(), list(in_flight.values("id", "status", "run__status"))

        def _pushes_by_run(self) -> Counter[int]:
            pushed = Counter(
                push.delivery_id for push in scripted_transport.sent[self.sent_before :]
            )
            runs = dict(Delivery.objects.filter(pk__in=list(pushed)).values_list("id", "run_id"))
            by_run: Counter[int] = Counter()
            for pk, n in pushed.items():
                by_run[runs[pk]] += n
            return by_run

        @invariant()
        def nothing_is_pushed_for_a_run_after_its_cancel(self) -> None:
            if not hasattr(self, "campaign"):
                return
            by_run = self._pushes_by_run()
            for run_id in self.campaign.runs.filter(status=R.CANCELLED).values_list(
                "id", flat=True
            ):
                # The first time the run is seen cancelled, what it had pushed is its total.
                self.pushed_at_cancel.setdefault(run_id, by_run[run_id])
                assert by_run[run_id] == self.pushed_at_cancel[run_id], run_id

        def teardown(self) -> None:
            """Let every worker and sweep finish: then nothing is left in flight in a finished
            run, and no sending run is left with nothing to send."""
            if not hasattr(self, "campaign"):
                return
            for _ in range(django_settings.PUSH_MAX_ATTEMPTS + 1):
                self.retries_come_due()
                self.sweeper_runs_after_the_timeout()
                for run in self.campaign.runs.exclude(status__in=[R.PAUSED, R.RESOLVING]):
                    ids = run.deliveries.values_list("id", flat=True)
                    if ids:
                        deliveries_send(run_id=run.pk, first_id=min(ids), last_id=max(ids))
            self.nothing_is_pushed_for_a_run_after_its_cancel()
            in_flight = Delivery.objects.filter(
                run__campaign=self.campaign,
                run__status__in=[R.COMPLETED, R.CANCELLED, R.SENDING],
                status__in=[S.QUEUED, S.SENDING],
            )
            assert not in_flight.exists(), list(in_flight.values("id", "status", "run__status"))
            assert not self.campaign.runs.filter(status=R.SENDING).exists()

        @invariant()
        def pushes_never_outnumber_attempts(self) -> None:
            if not hasattr(self, "campaign"):
                return
            pushed = Counter(
                push.delivery_id for push in scripted_transport.sent[self.sent_before :]
            )
            rows = Delivery.objects.filter(run__campaign=self.campaign)
            for pk, status, attempts in rows.values_list("id", "status", "attempts"):
                # A row still claimed may have one push out that nobody recorded yet.
                in_flight = 1 if status == S.SENDING else 0
                assert pushed[pk] <= attempts + in_flight, (pk, status, pushed[pk], attempts)
                if status != S.SENT:
                    continue
                assert pushed[pk] >= 1  # recorded as sent: a push went out for it

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


def test_a_worker_dying_after_its_push_went_out_costs_one_attempt_and_one_resend(
    addon_on, app, enqueued, scripted_transport
):
    """The path the random walk reaches only sometimes, spelled out: claimed, pushed, the
    process killed before recording; the sweeper hands the row back with an attempt spent, the
    next chunk sends it again and records it."""
    device(app, platform="android", push_token="ok-1")
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    assert run is not None
    (pk,) = run.deliveries.values_list("id", flat=True)
    assert deliveries_claim(run_id=run.pk, first_id=pk, last_id=pk, now=timezone.now()) == [pk]
    scripted_transport(
        credential=None, app=None, pushes=[OutgoingPush(delivery_id=pk, token="ok-1", body={})]
    )

    deliveries_sweep(
        now=timezone.now() + timedelta(seconds=django_settings.PUSH_SENDING_TIMEOUT_SECONDS + 1)
    )
    assert Delivery.objects.filter(pk=pk).values_list("status", "attempts").get() == (S.QUEUED, 1)
    deliveries_send(run_id=run.pk, first_id=pk, last_id=pk)

    row = Delivery.objects.get(pk=pk)
    assert (row.status, row.attempts) == (S.SENT, 2)
    assert [push.delivery_id for push in scripted_transport.sent] == [pk, pk]  # sent twice
    run.refresh_from_db()
    assert run.status == R.COMPLETED and runs_counter_drift() == []
