from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.export import run_deliveries_csv
from campaigns.ledger.counters import run_counters_add, runs_counter_drift
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun, Delivery
from campaigns.reports.figures import run_figures
from campaigns.reports.refresh import run_report_refresh, runs_needing_report
from notifications.content import PushContent
from tests.factories import DeviceFactory, LeadFactory, MobileAppFactory, PushNotificationFactory

OUTCOMES = [
    # (platform, status, reason, tapped)
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
    ("android", "queued", "", False),
]


@pytest.fixture
def seeded_run(db):
    """A run whose rows (and counters) are written by the ledger: opened by run_open, rows
    inserted with their outcomes and counted by deliveries_insert_returning, taps counted
    through the counter table."""
    app = MobileAppFactory()
    notification = PushNotificationFactory(app=app)
    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.SENDING,
        notification_id=notification.pk,
        app_id=app.pk,
        content=PushContent(message="hi").to_dict(),
        now=timezone.now() - timedelta(minutes=5),
    )
    shared_lead = LeadFactory()
    # Minute 10 of an hour: sends at :10–:12 and taps 65 minutes later fall in the next hour.
    start = (timezone.now() - timedelta(hours=3)).replace(minute=10, second=0, microsecond=0)
    rows, stamps = [], {}
    for i, (platform, status, reason, tapped) in enumerate(OUTCOMES):
        # Two devices share one lead: sent counts devices, unique leads counts people.
        lead = shared_lead if i in (5, 6) else LeadFactory()
        device = DeviceFactory(app=app, platform=platform, lead=lead)
        rows.append(
            NewDelivery(
                device_id=device.pk, lead_id=lead.pk, platform=platform, status=status,
                reason=reason,
            )
        )  # fmt: skip
        sent_at = start + timedelta(minutes=i % 3) if status == "sent" else None
        stamps[device.pk] = (sent_at, sent_at + timedelta(hours=1, minutes=5) if tapped else None)
    written = deliveries_insert_returning(run_id=run.pk, rows=rows, now=timezone.now())
    for device_id, (sent_at, tapped_at) in stamps.items():
        if sent_at is not None:
            Delivery.objects.filter(pk=written[device_id]).update(
                sent_at=sent_at, tapped_at=tapped_at
            )
    taps = {}
    for platform, _, _, tapped in OUTCOMES:
        taps[("tapped", platform)] = taps.get(("tapped", platform), 0) + int(tapped)
    run_counters_add(run_id=run.pk, counts=taps)
    assert runs_counter_drift([run.pk]) == []
    run.refresh_from_db()
    return run


def test_figures_match_the_delivery_rows_per_platform(seeded_run):
    run_report_refresh(run_id=seeded_run.pk)
    figures = run_figures(run=CampaignRun.objects.select_related("report").get(pk=seeded_run.pk))
    for platform in ("ios", "android"):
        rows = [o for o in OUTCOMES if o[0] == platform]
        for status in ("sent", "failed", "token_invalid", "skipped", "queued"):
            assert figures.by_platform[platform][status] == sum(1 for o in rows if o[1] == status)
        assert figures.by_platform[platform]["tapped"] == sum(1 for o in rows if o[3])
    assert figures.total["sent"] == 5
    assert figures.unique_leads_sent == 4  # five sent devices, two of them one lead's
    assert figures.failed_by_reason == {"INVALID_ARGUMENT": 2, "PayloadTooLarge": 1}
    assert figures.skipped_by_reason == {"push_disabled": 1, "addon_disabled": 1}
    assert figures.tap_rate("android") == pytest.approx(66.67)
    assert figures.tap_rate() == 60.0
    assert figures.done == 11 and figures.deliveries == 12
    assert sum(p[1] + p[2] for p in figures.sends_over_time) == 5
    assert sum(p[1] + p[2] for p in figures.tap_decay) == 3
    # Sends span two minutes: charted in seconds. Taps came 65-67 minutes after the first
    # send: under 3 hours, so in minutes.
    assert figures.sends_unit == "second"
    assert [p[0] for p in figures.sends_over_time] == [0, 60, 120]
    assert figures.tap_decay_unit == "minute"
    assert all(65 <= p[0] <= 67 for p in figures.tap_decay)


def _sent_rows(run, *, sent_offsets, tap_after=None):
    """Sent deliveries at `sent_offsets` (timedeltas after a base), tapped `tap_after` later."""
    base = (timezone.now() - timedelta(hours=10)).replace(microsecond=0)
    for i, offset in enumerate(sent_offsets):
        device = DeviceFactory(app=run.app, platform="ios" if i % 2 else "android")
        written = deliveries_insert_returning(
            run_id=run.pk,
            rows=[NewDelivery(device_id=device.pk, lead_id=None, platform=device.platform,
                              status="sent", reason="")],
            now=timezone.now(),
        )  # fmt: skip
        Delivery.objects.filter(pk=written[device.pk]).update(
            sent_at=base + offset,
            tapped_at=base + offset + tap_after if tap_after is not None else None,
        )


@pytest.fixture
def empty_run(db):
    app = MobileAppFactory()
    return run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.SENDING,
        notification_id=PushNotificationFactory(app=app).pk,
        app_id=app.pk,
        content=PushContent(message="hi").to_dict(),
        now=timezone.now(),
    )


def test_a_run_shorter_than_a_minute_is_charted_in_seconds(empty_run):
    _sent_rows(empty_run, sent_offsets=[timedelta(seconds=s) for s in (0, 1, 1, 7, 40)])
    report = run_report_refresh(run_id=empty_run.pk)
    assert report.sends_unit == "second"
    assert sum(p[1] + p[2] for p in report.sends_over_time) == 5
    assert len(report.sends_over_time) >= 3  # not one "0 min" block
    assert report.sends_over_time[-1][0] >= 39


def test_long_runs_and_late_taps_use_coarser_units(empty_run):
    offsets = [timedelta(minutes=m) for m in (0, 30, 90)]
    _sent_rows(empty_run, sent_offsets=offsets, tap_after=timedelta(hours=5))
    report = run_report_refresh(run_id=empty_run.pk)
    assert report.sends_unit == "minute"
    assert [p[0] for p in report.sends_over_time] == [0, 30, 90]
    assert report.tap_decay_unit == "hour"
    assert sum(p[1] + p[2] for p in report.tap_decay) == 3
    assert {p[0] for p in report.tap_decay} <= {5, 6, 7}  # hour buckets from the send's hour


def test_campaign_figures_merge_runs_in_the_coarsest_unit():
    from campaigns.reports.figures import _merge_series

    merged = _merge_series([([[0, 1, 0], [90, 0, 2]], "second"), ([[2, 1, 1]], "minute")], "minute")
    assert merged == ([[0, 1, 0], [1, 0, 2], [2, 1, 1]], "minute")


def test_a_tap_puts_the_report_behind_until_it_is_refreshed(seeded_run):
    from devices.services.activities import device_activities_record

    run_report_refresh(run_id=seeded_run.pk)
    CampaignRun.objects.filter(pk=seeded_run.pk).update(
        status=CampaignRun.Status.COMPLETED, finished_at=timezone.now() - timedelta(hours=1)
    )
    run_report_refresh(run_id=seeded_run.pk)
    assert runs_needing_report() == []
    untapped = Delivery.objects.filter(run=seeded_run, status="sent", tapped_at=None).first()
    device = untapped.device
    device_activities_record(
        app_id=device.app_id,
        installation_id=device.installation_id,
        activities=[{"kind": "push_tapped", "delivery_id": untapped.pk}],
    )
    # Due once the report is older than the 20 s debounce (it was computed just now).
    later = timezone.now() + timedelta(seconds=30)
    assert runs_needing_report(now=later) == [seeded_run.pk]
    report = run_report_refresh(run_id=seeded_run.pk)
    assert sum(p[1] + p[2] for p in report.tap_decay) == 4
    assert runs_needing_report(now=later) == []


def test_progress_json_carries_the_charts_data(seeded_run, marketer_client, addon_on):
    run_report_refresh(run_id=seeded_run.pk)
    data = marketer_client.get(reverse("run-progress", args=[seeded_run.pk])).json()
    assert data["sends_unit"] == "second"
    html = data["figures_html"]
    assert html.count("data-chart") == 2
    assert '<script type="application/json">' in html
    assert "Time since the first send (s)" in html  # the data table's heading


def test_dashboard_reads_counters_not_deliveries(
    seeded_run, marketer_client, addon_on, django_assert_max_num_queries
):
    run_report_refresh(run_id=seeded_run.pk)
    # Session + user + groups + add-on + the run with its report: a constant handful, however
    # many deliveries the run has.
    with django_assert_max_num_queries(7):
        response = marketer_client.get(reverse("run-dashboard", args=[seeded_run.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-k="sent-total"><strong>5</strong>' in body
    assert "4 unique leads" in body
    assert "INVALID_ARGUMENT" in body


def test_progress_json_reports_live_counters(seeded_run, marketer_client, addon_on):
    data = marketer_client.get(reverse("run-progress", args=[seeded_run.pk])).json()
    assert data["deliveries"] == 12
    assert data["done"] == 11
    assert data["total"]["queued"] == 1
    assert data["finished"] is False
    assert data["rate_per_second"] > 0


def test_export_rows_match_deliveries(seeded_run, marketer_client, addon_on):
    response = marketer_client.get(reverse("run-export", args=[seeded_run.pk]))
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    deliveries = {d.pk: d for d in Delivery.objects.filter(run=seeded_run).select_related("device")}
    assert len(rows) == len(deliveries)
    for row in rows:
        delivery = deliveries[int(row["delivery_id"])]
        assert row["status"] == delivery.status
        assert row["platform"] == delivery.platform
        assert row["device_installation_id"] == delivery.device.installation_id
        assert row["lead_email"] == delivery.device.lead.email


def test_export_pages_through_deliveries(seeded_run, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr("campaigns.export.EXPORT_PAGE", 5)
    # 12 rows in pages of 5: 3 pages + the empty page, each a delivery query and a lead query.
    with django_assert_max_num_queries(7):
        lines = list(run_deliveries_csv(run=seeded_run))
    assert len(lines) == 13


def test_dashboards_refuse_users_without_a_role(seeded_run, client, addon_on):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("run-dashboard", args=[seeded_run.pk])).status_code == 403


def test_dashboard_shows_the_addon_gate_when_off(seeded_run, marketer_client):
    response = marketer_client.get(reverse("run-dashboard", args=[seeded_run.pk]))
    assert response.status_code == 403
    assert "ask an admin" in response.content.decode()


def test_runs_needing_report_skips_fresh_reports(seeded_run):
    assert runs_needing_report() == [seeded_run.pk]
    run_report_refresh(run_id=seeded_run.pk)
    assert runs_needing_report() == []


def test_management_api_exposes_the_run_report(seeded_run, marketer_user, addon_on):
    from campaigns.models import Campaign
    from tests.api_fixtures import bearer_client

    campaign = Campaign.objects.create(
        name="Spring",
        kind=Campaign.Kind.BATCH,
        app=seeded_run.app,
        notification=seeded_run.notification,
    )
    CampaignRun.objects.filter(pk=seeded_run.pk).update(campaign=campaign)
    run_report_refresh(run_id=seeded_run.pk)
    client, _token = bearer_client(marketer_user)

    run = client.get(f"/api/v1/campaigns/{campaign.pk}/runs/{seeded_run.pk}").json()
    assert run["sent"] == {"ios": 2, "android": 3, "all": 5}
    assert run["report"]["unique_leads_sent"] == 4
    assert run["report"]["failed_by_reason"] == {"INVALID_ARGUMENT": 2, "PayloadTooLarge": 1}
    assert run["report"]["tap_rate_percent"]["all"] == 60.0

    detail = client.get(f"/api/v1/campaigns/{campaign.pk}").json()
    assert detail["report"]["skipped_by_reason"] == {"push_disabled": 1, "addon_disabled": 1}


def test_push_dashboard_names_only_the_campaigns_that_sent_it(marketer_client, addon_on):
    from campaigns.ledger.runs import run_open
    from tests.campaign_fixtures import make_campaign

    app = MobileAppFactory()
    push = PushNotificationFactory(app=app)
    sent = make_campaign(app=app, notification=push, name="Sent one")
    make_campaign(app=app, notification=push, name="Draft one")  # set to the push, never sent
    for campaign_id, kind in ((sent.pk, CampaignRun.Kind.BATCH), (None, CampaignRun.Kind.SAMPLE)):
        run_open(
            kind=kind,
            status=CampaignRun.Status.COMPLETED,
            notification_id=push.pk,
            app_id=app.pk,
            content=PushContent(message="hi").to_dict(),
            now=timezone.now(),
            campaign_id=campaign_id,
        )

    body = marketer_client.get(reverse("notification-dashboard", args=[push.pk])).content.decode()

    assert "Every campaign that sent this push: <a" in body
    assert "Sent one" in body and "Draft one" not in body
    idle = PushNotificationFactory(app=app)
    body = marketer_client.get(reverse("notification-dashboard", args=[idle.pk])).content.decode()
    assert "Every campaign that sent this push: none yet" in body
