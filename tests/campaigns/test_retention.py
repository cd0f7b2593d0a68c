from __future__ import annotations

import csv
import io
from datetime import timedelta

from celery.schedules import crontab
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns import tasks as campaign_tasks
from campaigns.ledger import counters
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.retention import PurgeStats, run_deliveries_delete, run_purge_mark
from campaigns.ledger.runs import run_open
from campaigns.models import Campaign, CampaignRun, Delivery, RunReport
from campaigns.reports.refresh import run_report_refresh, runs_needing_report
from notifications.content import PushContent
from pushmarketing.core.celery import app as celery_app
from pushmarketing.health import probe_ledger
from tests import ledger_checks
from tests.api_fixtures import bearer_client
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory, PushNotificationFactory

RETENTION_DAYS = 90
# (platform, status, reason, tapped): every row terminal, as in a finished run.
OUTCOMES = [
    ("ios", "sent", "", True),
    ("ios", "sent", "", False),
    ("ios", "failed", "PayloadTooLarge", False),
    ("ios", "token_invalid", "Unregistered", False),
    ("ios", "skipped", "push_disabled", False),
    ("android", "sent", "", True),
    ("android", "sent", "", True),
    ("android", "sent", "", False),
    ("android", "failed", "INVALID_ARGUMENT", False),
    ("android", "failed", "INVALID_ARGUMENT", False),
    ("android", "skipped", "addon_disabled", False),
    ("android", "sent", "", False),
]


def _run(
    *,
    ended_days_ago: float | None,
    campaign: Campaign | None = None,
    kind: str = CampaignRun.Kind.BATCH,
    status: str = CampaignRun.Status.COMPLETED,
    is_stream: bool = False,
    outcomes: list[tuple[str, str, str, bool]] = OUTCOMES,
    report: bool = True,
) -> CampaignRun:
    """A run whose rows and counters the ledger wrote (rows inserted with their outcomes and
    counted, taps through the counter table), ended `ended_days_ago` with its report."""
    app = campaign.app if campaign else MobileAppFactory()
    notification = campaign.notification if campaign else PushNotificationFactory(app=app)
    now = timezone.now()
    started = now - timedelta(days=(ended_days_ago or 0) + 1)
    run = run_open(
        kind=kind,
        status=CampaignRun.Status.SENDING,
        notification_id=notification.pk,
        app_id=app.pk,
        content=PushContent(message="hi").to_dict(),
        now=started,
        campaign_id=campaign.pk if campaign else None,
        is_stream=is_stream,
    )
    shared_lead = LeadFactory()
    rows, stamps = [], {}
    for i, (platform, status_, reason, tapped) in enumerate(outcomes):
        lead = shared_lead if i in (5, 6) else LeadFactory()
        device = DeviceFactory(app=app, platform=platform, lead=lead)
        rows.append(NewDelivery(device.pk, lead.pk, platform, status_, reason))
        sent_at = started + timedelta(seconds=20 * i) if status_ == "sent" else None
        stamps[device.pk] = (sent_at, sent_at + timedelta(minutes=30) if tapped else None)
    written = deliveries_insert_returning(run_id=run.pk, rows=rows, now=started)
    for device_id, (sent_at, tapped_at) in stamps.items():
        Delivery.objects.filter(pk=written[device_id]).update(
            created_at=started, sent_at=sent_at, tapped_at=tapped_at
        )
    taps: dict[tuple[str, str], int] = {}
    for platform, _, _, tapped in outcomes:
        taps[("tapped", platform)] = taps.get(("tapped", platform), 0) + int(tapped)
    counters.run_counters_add(run_id=run.pk, counts=taps)
    finished = None if ended_days_ago is None else now - timedelta(days=ended_days_ago)
    # The state table's walk to the end is the lifecycle's business; here only the outcome
    # (a run ended that long ago) matters.
    CampaignRun.objects.filter(pk=run.pk).update(status=status, finished_at=finished)
    if report:
        run_report_refresh(run_id=run.pk)
    assert counters.runs_counter_drift([run.pk]) == []
    return CampaignRun.objects.select_related("report").get(pk=run.pk)


def _purge(**kwargs) -> PurgeStats:
    return services.deliveries_purge(now=timezone.now(), retention_days=RETENTION_DAYS, **kwargs)


def _rows(run: CampaignRun) -> int:
    return Delivery.objects.filter(run=run).count()


def _campaign(**fields) -> Campaign:
    app = MobileAppFactory()
    notification = PushNotificationFactory(app=app)
    fields.setdefault("kind", Campaign.Kind.BATCH)
    # "once" (the default) reads every earlier row of the campaign: such runs are kept.
    fields.setdefault("qualification", Campaign.Qualification.EVERY_TIME)
    return Campaign.objects.create(name="Spring", app=app, notification=notification, **fields)


def _figures_json(client, run: CampaignRun) -> dict:
    data = client.get(reverse("run-progress", args=[run.pk])).json()
    for key in ("figures_html", "deliveries_purged_note", "rate_per_second", "eta_seconds"):
        data.pop(key)
    return data


def _summary_rows(client, campaign: Campaign) -> list[dict[str, str]]:
    response = client.get(reverse("campaign-summary-export", args=[campaign.pk]))
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_purge_keeps_dashboards_right(marketer_client, marketer_user, addon_on):
    campaign = _campaign()
    run = _run(ended_days_ago=100, campaign=campaign)
    api, _token = bearer_client(marketer_user)
    run_api = f"/api/v1/campaigns/{campaign.pk}/runs/{run.pk}"
    before_json = _figures_json(marketer_client, run)
    before_api = api.get(run_api).json()
    before_campaign = api.get(f"/api/v1/campaigns/{campaign.pk}").json()
    before_csv = _summary_rows(marketer_client, campaign)
    assert before_json["total"]["sent"] == 6 and before_json["unique_leads_sent"] == 5

    stats = _purge()

    assert stats.rows == len(OUTCOMES) and _rows(run) == 0
    run.refresh_from_db()
    assert run.deliveries_purged_at is not None
    assert _figures_json(marketer_client, run) == before_json
    after_api = api.get(run_api).json()
    note = after_api.pop("deliveries_purged_note")
    assert note.startswith("Delivery rows older than 100 days were purged on ")
    assert note.endswith("figures are from the run's report.")
    assert after_api.pop("deliveries_purged_at") is not None
    before_api.pop("deliveries_purged_note"), before_api.pop("deliveries_purged_at")
    assert after_api == before_api
    after_campaign = api.get(f"/api/v1/campaigns/{campaign.pk}").json()
    assert after_campaign["report"] == before_campaign["report"]
    assert after_campaign["totals"] == before_campaign["totals"]

    page = marketer_client.get(reverse("run-dashboard", args=[run.pk])).content.decode()
    assert 'data-k="sent-total"><strong>6</strong>' in page
    assert "5 unique leads" in page and "INVALID_ARGUMENT" in page
    assert "Delivery rows older than 100 days were purged on" in page
    assert reverse("run-export", args=[run.pk]) not in page

    after_csv = _summary_rows(marketer_client, campaign)
    assert after_csv[0].pop("deliveries_purged_at") != ""
    assert before_csv[0].pop("deliveries_purged_at") == ""
    assert after_csv == before_csv


def test_export_of_a_purged_run_says_its_rows_were_purged(marketer_client, addon_on):
    run = _run(ended_days_ago=100)
    _purge()
    response = marketer_client.get(reverse("run-export", args=[run.pk]))
    assert response.status_code == 410
    assert "were purged on" in response.content.decode()


def test_purge_deletes_only_the_rows_of_finished_reported_runs_past_retention(db):
    old = _run(ended_days_ago=91)
    cancelled = _run(ended_days_ago=120, status=CampaignRun.Status.CANCELLED)
    sample = _run(ended_days_ago=91, kind=CampaignRun.Kind.SAMPLE)
    recent = _run(ended_days_ago=89)
    sending = _run(ended_days_ago=None, status=CampaignRun.Status.SENDING)
    stream = _run(
        ended_days_ago=None,
        kind=CampaignRun.Kind.TRIGGER,
        status=CampaignRun.Status.LISTENING,
        is_stream=True,
        campaign=_campaign(kind=Campaign.Kind.TRIGGER),
    )
    # Backdate the listening stream's rows: an old row of an open stream stays all the same.
    Delivery.objects.filter(run=stream).update(created_at=timezone.now() - timedelta(days=400))
    ended_stream = _run(
        ended_days_ago=95,
        kind=CampaignRun.Kind.TRIGGER,
        is_stream=True,
        campaign=_campaign(kind=Campaign.Kind.TRIGGER),
    )

    _purge()

    for run in (old, cancelled, sample, ended_stream):
        assert _rows(run) == 0
    for run in (recent, sending, stream):
        assert _rows(run) == len(OUTCOMES)
    purged = set(
        CampaignRun.objects.filter(deliveries_purged_at__isnull=False).values_list("pk", flat=True)
    )
    assert purged == {old.pk, cancelled.pk, sample.pk, ended_stream.pk}


def test_rows_a_qualification_rule_still_reads_are_kept(db):
    once = _run(ended_days_ago=400, campaign=_campaign(qualification=Campaign.Qualification.ONCE))
    long_window = _run(
        ended_days_ago=100,
        campaign=_campaign(
            qualification=Campaign.Qualification.ONCE_PER,
            qualification_period_hours=24 * 120,
        ),
    )
    daily = _run(
        ended_days_ago=100,
        campaign=_campaign(
            qualification=Campaign.Qualification.ONCE_PER, qualification_period_hours=24
        ),
    )
    every_time = _run(
        ended_days_ago=100,
        campaign=_campaign(qualification=Campaign.Qualification.EVERY_TIME),
    )
    _purge()
    assert _rows(once) == _rows(long_window) == len(OUTCOMES)
    assert _rows(daily) == _rows(every_time) == 0


def test_a_run_without_a_final_report_gets_it_before_its_rows_go(db):
    missing = _run(ended_days_ago=100, report=False)
    behind = _run(ended_days_ago=100)
    # A tap came in after the report: the report is behind the taps until refreshed.
    RunReport.objects.filter(run=behind).update(feedback_at=timezone.now())
    Delivery.objects.filter(run=behind, status="sent", tapped_at=None).update(
        tapped_at=F("sent_at") + timedelta(hours=2)
    )
    counters.run_counters_add(
        run_id=behind.pk, counts={("tapped", "ios"): 1, ("tapped", "android"): 2}
    )

    _purge()

    for run in (missing, behind):
        assert _rows(run) == 0
    report = RunReport.objects.get(run=missing)
    assert report.unique_leads_sent == 5
    assert report.failed_by_reason == {"INVALID_ARGUMENT": 2, "PayloadTooLarge": 1}
    taps = RunReport.objects.get(run=behind).tap_decay
    assert sum(ios + android for _, ios, android in taps) == 6  # every sent row tapped


def test_the_mark_refuses_a_run_with_work_left_or_a_stale_report(db):
    now = timezone.now()
    pending = _run(
        ended_days_ago=100,
        status=CampaignRun.Status.CANCELLED,
        outcomes=[*OUTCOMES, ("ios", "queued", "", False)],
    )
    stale = _run(ended_days_ago=100)
    RunReport.objects.filter(run=stale).update(computed_at=now - timedelta(days=101))
    assert not run_purge_mark(run_id=pending.pk, now=now, retention_days=RETENTION_DAYS)
    assert not run_purge_mark(run_id=stale.pk, now=now, retention_days=RETENTION_DAYS)
    assert not CampaignRun.objects.filter(deliveries_purged_at__isnull=False).exists()


def test_each_delete_is_one_bounded_statement_in_its_own_transaction(db):
    run = _run(ended_days_ago=100)
    assert run_purge_mark(run_id=run.pk, now=timezone.now(), retention_days=RETENTION_DAYS)
    with CaptureQueriesContext(connection) as queries:
        stats = run_deliveries_delete(run_id=run.pk, batch_rows=5)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # 12 rows in batches of 5: 5, 5, then 2 (fewer than a batch: done).
    assert (stats.rows, stats.batches) == (12, 3)
    assert len(deletes) == 3
    assert all("LIMIT 5" in sql and f"run_id = {run.pk}" in sql for sql in deletes)
    # Nothing but the DELETE and its transaction (or, inside the test's transaction, its
    # savepoint) per batch: no row is read into Python.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == [
        *["SAVEPOINT", "DELETE", "RELEASE"] * 3
    ]
    assert _rows(run) == 0


def test_a_purge_interrupted_between_batches_is_finished_by_the_next_pass(db):
    run = _run(ended_days_ago=100)
    assert run_purge_mark(run_id=run.pk, now=timezone.now(), retention_days=RETENTION_DAYS)
    # The worker died here: the run is marked, its rows are still there.
    assert counters.runs_counter_drift() == []
    assert _purge().rows == len(OUTCOMES)
    assert _rows(run) == 0


def test_counter_drift_checks_skip_purged_runs(db):
    run = _run(ended_days_ago=100)
    # Rows gone without the mark: that is drift, and both checkers say so.
    Delivery.objects.filter(run=run, status="failed").delete()
    assert counters.runs_counter_drift([run.pk])
    assert ledger_checks.runs_counter_drift()
    CampaignRun.objects.filter(pk=run.pk).update(deliveries_purged_at=timezone.now())
    _purge()
    assert _rows(run) == 0
    assert counters.runs_counter_drift([run.pk]) == []
    assert counters.runs_counter_drift() == []
    assert ledger_checks.runs_counter_drift() == []


def test_the_health_probe_skips_purged_runs(db):
    run = _run(ended_days_ago=100)
    CampaignRun.objects.filter(pk=run.pk).update(created_at=timezone.now())  # in its window
    _purge()
    assert _rows(run) == 0
    probe = probe_ledger()
    assert probe.ok, probe.detail


def test_a_purged_run_s_report_is_frozen(db):
    run = _run(ended_days_ago=100)
    before = RunReport.objects.get(run=run)
    _purge()
    # A late tap flags the report behind; nothing recomputes it from rows that are gone.
    RunReport.objects.filter(run=run).update(feedback_at=timezone.now())
    assert run.pk not in runs_needing_report()
    after = run_report_refresh(run_id=run.pk)
    assert after.computed_at == before.computed_at
    assert after.unique_leads_sent == before.unique_leads_sent == 5
    assert after.sends_over_time == before.sends_over_time != []


def test_retention_zero_keeps_every_row(db):
    run = _run(ended_days_ago=1000)
    stats = services.deliveries_purge(now=timezone.now(), retention_days=0)
    assert stats.rows == 0 and _rows(run) == len(OUTCOMES)


def test_the_daily_task_purges_with_the_retention_setting(db, settings):
    settings.DELIVERY_RETENTION_DAYS = 30
    kept = _run(ended_days_ago=29)
    gone = _run(ended_days_ago=31)
    assert campaign_tasks.deliveries_purge() == len(OUTCOMES)
    assert _rows(gone) == 0 and _rows(kept) == len(OUTCOMES)


def test_the_purge_is_scheduled_daily():
    entries = [
        entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == "campaigns.deliveries_purge"
    ]
    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert len(schedule.hour) == 1 and len(schedule.minute) == 1  # once a day
    assert "campaigns.deliveries_purge" in celery_app.tasks
