"""Streaming CSV exports. Rows are read in keyset pages of EXPORT_PAGE deliveries, so a
1M-row export starts at once and holds one page in memory, never the whole run."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from campaigns.models import Campaign, CampaignRun, Delivery
from campaigns.reports.figures import PLATFORMS, Figures, campaign_figures, run_figures
from devices.models import Lead

EXPORT_PAGE = 5000
DELIVERY_COLUMNS = (
    "delivery_id",
    "device_installation_id",
    "lead_email",
    "platform",
    "status",
    "reason",
    "attempts",
    "sent_at",
    "received_at",
    "tapped_at",
    "variant",  # the A/B variant label; empty outside a test
)


class _Echo:
    """csv.writer target that hands each line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def run_delivery_rows(*, run: CampaignRun) -> Iterator[tuple[object, ...]]:
    last_id = 0
    while True:
        page = list(
            Delivery.objects.filter(run=run, id__gt=last_id)
            .order_by("id")
            .values_list(
                "id",
                "device__installation_id",
                "lead_id",
                "platform",
                "status",
                "reason",
                "attempts",
                "sent_at",
                "received_at",
                "tapped_at",
                "variant",
            )[:EXPORT_PAGE]
        )
        if not page:
            return
        lead_ids = {row[2] for row in page if row[2] is not None}
        emails = dict(Lead.objects.filter(id__in=lead_ids).values_list("id", "email"))
        for (
            did,
            install,
            lead_id,
            platform,
            status,
            reason,
            attempts,
            sent,
            recv,
            tapped,
            variant,
        ) in page:
            yield (
                did,
                install,
                emails.get(lead_id, "") if lead_id is not None else "",
                platform,
                status,
                reason,
                attempts,
                _iso(sent),
                _iso(recv),
                _iso(tapped),
                variant,
            )
        last_id = page[-1][0]


def run_deliveries_csv(*, run: CampaignRun) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(DELIVERY_COLUMNS)
    for row in run_delivery_rows(run=run):
        yield writer.writerow(row)


def campaign_summary_csv(*, campaign_id: int) -> Iterator[str]:
    """One row per run and one for the campaign total, per platform and in total."""
    campaign = Campaign.objects.get(pk=campaign_id)
    writer = csv.writer(_Echo())
    outcomes = ("sent", "failed", "token_invalid", "skipped", "received", "tapped")
    header = ["run", "kind", "started_at", "deliveries", "unique_leads_sent"]
    header += [f"{o}_{p}" for p in (*PLATFORMS, "total") for o in outcomes]
    # Figures come from counters and reports, so they hold after retention purged a run's
    # rows; the last column says which runs' rows are gone.
    header += ["tap_rate_percent", "deliveries_purged_at"]
    yield writer.writerow(header)
    runs = (
        CampaignRun.objects.filter(campaign=campaign)
        .select_related("report")
        .order_by("created_at")
    )
    for run in runs:
        row = _summary_row(
            str(run.pk), run.kind, _iso(run.started_at), run_figures(run=run), outcomes
        )
        yield writer.writerow([*row, _iso(run.deliveries_purged_at)])
    row = _summary_row("all", campaign.kind, "", campaign_figures(campaign=campaign), outcomes)
    yield writer.writerow([*row, ""])


def _summary_row(
    label: str, kind: str, started: str, figures: Figures, outcomes: tuple[str, ...]
) -> list[object]:
    row: list[object] = [label, kind, started, figures.deliveries, figures.unique_leads_sent]
    for platform in PLATFORMS:
        row += [figures.by_platform[platform][o] for o in outcomes]
    row += [figures.total[o] for o in outcomes]
    row.append(figures.tap_rate() if figures.tap_rate() is not None else "")
    return row
