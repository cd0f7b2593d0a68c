"""The A/B comparison where users read it: the management API, the CSV export, the report."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from pushmarketing.core.api_tokens import api_token_create
from tests.abtest_fixtures import ab_campaign, ab_run_sent, seed_leads_with_devices
from tests.campaign_fixtures import configure_app
from tests.factories import MobileAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ab_run(addon_on):  # noqa: ANN001, ANN201
    app = configure_app(MobileAppFactory(), platforms=("android",))
    seed_leads_with_devices(app=app, devices=1000)
    campaign = ab_campaign(app=app, shares={"A": 45, "B": 45, "C": 10}, controls=("C",))
    return campaign, ab_run_sent(campaign, tap_every={"A": 10, "B": 5})


def _counts(run, label: str, **filters) -> int:  # noqa: ANN001, ANN003
    return run.deliveries.filter(variant=label, **filters).count()


def test_the_report_counts_each_variant(ab_run):  # noqa: ANN001
    _, run = ab_run
    report = run.report.by_variant
    for label in ("A", "B"):
        assert report[label] == {
            "deliveries": _counts(run, label),
            "sent": _counts(run, label, status="sent"),
            "received": _counts(run, label, received_at__isnull=False),
            "tapped": _counts(run, label, tapped_at__isnull=False),
            "held_out": 0,
        }
    assert report["C"]["sent"] == 0
    assert report["C"]["held_out"] == report["C"]["deliveries"] == _counts(run, "C")
    assert run.report.skipped_by_reason == {"held_out": _counts(run, "C")}


def test_the_management_api_carries_the_test_and_the_comparison(ab_run, marketer_user):  # noqa: ANN001
    campaign, run = ab_run
    _, token = api_token_create(user=marketer_user, name="BI")
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    detail = api.get(reverse("api-campaign-detail", args=[campaign.pk])).json()
    assert detail["ab_test"]["variants"][2] == {
        "label": "C",
        "notification_id": None,
        "control": True,
        "share_percent": 10,
    }
    assert detail["ab_test"]["winner_mode"] is False
    listed = api.get(reverse("api-campaign-list")).json()["results"][0]
    assert listed["ab_test"] == detail["ab_test"]
    body = api.get(reverse("api-campaign-run", args=[campaign.pk, run.pk])).json()
    variants = {v["label"]: v for v in body["ab_test"]["variants"]}
    assert variants["B"]["tapped"] == _counts(run, "B", tapped_at__isnull=False)
    assert variants["B"]["push_name"] == "Variant B"
    assert variants["C"]["held_out"] == _counts(run, "C") and variants["C"]["control"]
    assert body["ab_test"]["statement"].startswith("B beats A with ")
    assert body["ab_test"]["confidence"] > 0.95
    assert body["ab_test"]["winner"] == ""


def test_the_csv_export_has_each_deliverys_variant(ab_run, marketer_client):  # noqa: ANN001
    _, run = ab_run
    response = marketer_client.get(reverse("run-export", args=[run.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == run.total
    by_id = dict(run.deliveries.values_list("id", "variant"))
    assert all(row["variant"] == by_id[int(row["delivery_id"])] for row in rows)
    held = [row for row in rows if row["variant"] == "C"]
    assert held and {(r["status"], r["reason"]) for r in held} == {("skipped", "held_out")}
