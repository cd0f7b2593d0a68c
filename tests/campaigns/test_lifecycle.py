"""The state table and its owners: every status change goes through campaigns.lifecycle, a
run is opened by the transaction that starts a campaign, and the engine (not a read)
completes runs and one-shot campaigns."""

from __future__ import annotations

import pytest

from campaigns import services
from campaigns.delivery.send import deliveries_send
from campaigns.ledger.counters import runs_counter_drift
from campaigns.lifecycle import (
    CAMPAIGN_TRANSITIONS,
    RUN_TRANSITIONS,
    Action,
    LifecycleError,
    campaign_next_status,
)
from campaigns.models import Campaign, CampaignRun
from campaigns.resolve import run_resolve
from pushmarketing.health import probe_ledger
from tests.campaign_fixtures import device, make_campaign

pytestmark = pytest.mark.django_db
C = Campaign.Status
R = CampaignRun.Status


def test_table_only_names_real_statuses_and_actions():
    for (status, action), target in CAMPAIGN_TRANSITIONS.items():
        assert status in C.values and target in C.values
        assert action in Action.__members__.values()
    for (status, _action), target in RUN_TRANSITIONS.items():
        assert status in R.values and target in R.values
    # Final run statuses are final: no action leaves them.
    assert not [key for key in RUN_TRANSITIONS if key[0] in (R.COMPLETED, R.CANCELLED)]


def test_refusal_says_why_and_what_to_do_instead():
    with pytest.raises(LifecycleError) as refused:
        campaign_next_status(C.PAUSED, Action.SEND_AGAIN)
    assert refused.value.field == "status"
    assert refused.value.rule == "a paused campaign cannot be sent again; resume or cancel it"
    with pytest.raises(LifecycleError, match="an active campaign cannot be started"):
        campaign_next_status(C.ACTIVE, Action.START)


def test_send_now_opens_the_run_in_the_same_transaction(addon_on, app, enqueued):
    device(app)
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    campaign.refresh_from_db()
    run = campaign.runs.get()
    assert (campaign.status, run.status, run.kind) == (C.RUNNING, R.RESOLVING, "batch")
    assert enqueued.named("campaigns.run_resolve") == [(run.pk,)]


def test_send_again_opens_a_new_run_at_once(addon_on, app, enqueued):
    device(app)
    campaign = make_campaign(app=app, status=C.COMPLETED)
    services.campaign_send_again(actor=None, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == C.RUNNING
    assert list(campaign.runs.values_list("status", flat=True)) == [R.RESOLVING]
    with pytest.raises(LifecycleError, match="a running campaign cannot be sent again"):
        services.campaign_send_again(actor=None, campaign=campaign)


def test_refused_action_changes_nothing(addon_on, app, enqueued):
    campaign = make_campaign(app=app, status=C.PAUSED)
    with pytest.raises(LifecycleError):
        services.campaign_send_again(actor=None, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == C.PAUSED and not campaign.runs.exists() and not enqueued.tasks


def test_last_recorded_delivery_completes_run_and_campaign(
    addon_on, push_app, make_devices, scripted_transport, enqueued
):
    make_devices(3)
    campaign = make_campaign(app=push_app)
    services.campaign_start(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    assert run is not None and run.status == R.SENDING
    ids = list(run.deliveries.values_list("id", flat=True))
    deliveries_send(run_id=run.pk, first_id=min(ids), last_id=max(ids))
    run.refresh_from_db()
    campaign.refresh_from_db()
    assert (run.status, campaign.status) == (R.COMPLETED, C.COMPLETED)
    assert run.finished_at is not None
    assert runs_counter_drift() == []
    # The final report is asked for by the transaction that ended the run.
    assert (run.pk,) in enqueued.named("campaigns.run_report_refresh")


def test_empty_audience_completes_at_resolution(addon_on, app, enqueued):
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    campaign.refresh_from_db()
    assert (run.status, run.total, campaign.status) == (R.COMPLETED, 0, C.COMPLETED)


def test_pause_during_resolution_leaves_the_run_paused(addon_on, app, enqueued):
    device(app)
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    services.campaign_pause(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    assert (run.status, run.total) == (R.PAUSED, 1)
    assert enqueued.calls == []  # nothing dispatched while paused
    services.campaign_resume(actor=None, campaign=campaign)
    run.refresh_from_db()
    campaign.refresh_from_db()
    assert (run.status, campaign.status) == (R.SENDING, C.RUNNING)
    assert enqueued.calls == [(run.pk, "bulk")]


def test_cancel_while_resolving_resolves_nothing(addon_on, app, enqueued):
    device(app)
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    services.campaign_cancel(actor=None, campaign=campaign)
    run_id = campaign.runs.get().pk
    assert run_resolve(run_id=run_id) is None
    run = CampaignRun.objects.get(pk=run_id)
    assert (run.status, run.total) == (R.CANCELLED, 0)


def test_trigger_stream_listens_and_stops_on_deactivate(addon_on, app, enqueued):
    campaign = make_campaign(app=app, kind=Campaign.Kind.TRIGGER, trigger={"event": "opened"})
    services.campaign_start(actor=None, campaign=campaign)
    stream = campaign.runs.get()
    assert (stream.status, stream.is_stream) == (R.LISTENING, True)
    services.campaign_pause(actor=None, campaign=campaign)
    services.campaign_resume(actor=None, campaign=campaign)
    stream.refresh_from_db()
    assert stream.status == R.LISTENING
    services.campaign_deactivate(actor=None, campaign=campaign)
    stream.refresh_from_db()
    campaign.refresh_from_db()
    assert (stream.status, campaign.status) == (R.COMPLETED, C.DRAFT)


def test_health_page_reports_counters_that_drifted_from_rows(addon_on, app, enqueued):
    device(app)
    campaign = make_campaign(app=app)
    services.campaign_start(actor=None, campaign=campaign)
    run = run_resolve(run_id=campaign.runs.get().pk)
    assert probe_ledger().ok
    CampaignRun.objects.filter(pk=run.pk).update(sent_android=5)
    probe = probe_ledger()
    assert not probe.ok
    assert f"run {run.pk}: sent_android 5 != 0 rows" in probe.detail
