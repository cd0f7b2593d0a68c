"""Campaign, run and notification figures for dashboards and the management API.

Totals come from the per-run counters the send path increments per batch, plus the RunReport
aggregates a task refreshes; nothing here scans the deliveries, so a dashboard of a
1M-delivery run costs a few indexed reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext

from campaigns.ledger.counters import COUNTED_STATUSES, COUNTER_FIELDS, FEEDBACK_STAMPS, PLATFORMS
from campaigns.models import Campaign, CampaignRun, RunReport
from pushmarketing.core.display import moment_text

OUTCOMES: tuple[str, ...] = (*COUNTED_STATUSES, *FEEDBACK_STAMPS)


@dataclass
class Figures:
    """Outcome counts per platform; `total` sums the platforms."""

    by_platform: dict[str, dict[str, int]] = field(
        default_factory=lambda: {p: dict.fromkeys(OUTCOMES, 0) for p in PLATFORMS}
    )
    deliveries: int = 0
    unique_leads_sent: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    sends_over_time: list[list[int]] = field(default_factory=list)
    sends_unit: str = RunReport.Unit.MINUTE
    tap_decay: list[list[int]] = field(default_factory=list)
    tap_decay_unit: str = RunReport.Unit.HOUR

    @property
    def total(self) -> dict[str, int]:
        return {o: sum(self.by_platform[p][o] for p in PLATFORMS) for o in OUTCOMES}

    @property
    def done(self) -> int:
        t = self.total
        return t["sent"] + t["failed"] + t["token_invalid"] + t["skipped"]

    @property
    def remaining(self) -> int:
        return max(self.deliveries - self.done, 0)

    @property
    def progress_percent(self) -> float:
        return 100.0 if not self.deliveries else round(100.0 * self.done / self.deliveries, 1)

    def tap_rate(self, platform: str | None = None) -> float | None:
        row = self.total if platform is None else self.by_platform[platform]
        return round(100.0 * row["tapped"] / row["sent"], 2) if row["sent"] else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "done": self.done,
            "progress_percent": self.progress_percent,
            "unique_leads_sent": self.unique_leads_sent,
            "total": {**self.total, "tap_rate_percent": self.tap_rate()},
            "platforms": {
                p: {**self.by_platform[p], "tap_rate_percent": self.tap_rate(p)} for p in PLATFORMS
            },
            **self._breakdowns(),
        }

    def _breakdowns(self) -> dict[str, Any]:
        """Reasons and series from the RunReport aggregates (dashboard and API alike)."""
        return {
            "failed_by_reason": self.failed_by_reason,
            "skipped_by_reason": self.skipped_by_reason,
            "sends_over_time": self.sends_over_time,
            "sends_unit": self.sends_unit,
            "tap_decay": self.tap_decay,
            "tap_decay_unit": self.tap_decay_unit,
        }

    def report(self) -> dict[str, Any]:
        """The aggregates beyond the raw counters, for the management API."""
        return {
            "unique_leads_sent": self.unique_leads_sent,
            "tap_rate_percent": {
                "ios": self.tap_rate("ios"),
                "android": self.tap_rate("android"),
                "all": self.tap_rate(),
            },
            **self._breakdowns(),
        }


def _counter_fields() -> list[str]:
    return list(COUNTER_FIELDS.values())


UNIT_SECONDS: dict[str, int] = {
    RunReport.Unit.SECOND: 1,
    RunReport.Unit.MINUTE: 60,
    RunReport.Unit.HOUR: 3600,
}


def _merge_series(series: Iterable[tuple[list[list[int]], str]], default_unit: str) -> tuple:
    """Sum several runs' series (offsets since each run's first send) in the coarsest unit
    among them: ([[offset, ios, android], ...], unit)."""
    parts = [(rows, unit) for rows, unit in series if rows]
    if not parts:
        return [], default_unit
    unit = max((unit for _, unit in parts), key=lambda u: UNIT_SECONDS.get(u, 60))
    target: dict[int, list[int]] = {}
    for rows, row_unit in parts:
        factor = UNIT_SECONDS.get(row_unit, 60)
        for offset, ios, android in rows:
            bucket = target.setdefault(offset * factor // UNIT_SECONDS.get(unit, 60), [0, 0])
            bucket[0] += ios
            bucket[1] += android
    return [[k, *v] for k, v in sorted(target.items())], unit


def _figures_from(counter_row: dict[str, int | None], reports: Iterable[RunReport]) -> Figures:
    figures = Figures()
    for outcome in OUTCOMES:
        for platform in PLATFORMS:
            name = COUNTER_FIELDS[(outcome, platform)]
            figures.by_platform[platform][outcome] = counter_row.get(name) or 0
    figures.deliveries = counter_row.get("total") or 0
    reports = list(reports)
    for report in reports:
        figures.unique_leads_sent += report.unique_leads_sent
        for reason, n in report.failed_by_reason.items():
            figures.failed_by_reason[reason] = figures.failed_by_reason.get(reason, 0) + n
        for reason, n in report.skipped_by_reason.items():
            figures.skipped_by_reason[reason] = figures.skipped_by_reason.get(reason, 0) + n
    figures.sends_over_time, figures.sends_unit = _merge_series(
        ((r.sends_over_time, r.sends_unit) for r in reports), RunReport.Unit.MINUTE
    )
    figures.tap_decay, figures.tap_decay_unit = _merge_series(
        ((r.tap_decay, r.tap_decay_unit) for r in reports), RunReport.Unit.HOUR
    )
    return figures


def _figures_for_runs(runs: QuerySet[CampaignRun]) -> Figures:
    sums = runs.aggregate(total=Sum("total"), **{f: Sum(f) for f in _counter_fields()})
    reports = RunReport.objects.filter(run__in=runs)
    return _figures_from(sums, reports)


def run_figures(*, run: CampaignRun) -> Figures:
    row = {f: getattr(run, f) for f in _counter_fields()}
    row["total"] = run.total
    try:
        report: RunReport | None = run.report  # select_related("report") saves this query
    except RunReport.DoesNotExist:
        report = None
    return _figures_from(row, [report] if report else [])


def campaign_figures(*, campaign: Campaign) -> Figures:
    return _figures_for_runs(CampaignRun.objects.filter(campaign=campaign))


def notification_figures(*, notification_id: int) -> Figures:
    """Summed over every campaign run that sent the push (sample sends excluded)."""
    runs = CampaignRun.objects.filter(notification_id=notification_id).exclude(
        kind=CampaignRun.Kind.SAMPLE
    )
    return _figures_for_runs(runs)


def run_purge_note(run: CampaignRun) -> str | None:
    """What a dashboard, an export and the API say about a run whose delivery rows retention
    deleted (campaigns.ledger.retention): its figures are the counters and the frozen report."""
    if run.deliveries_purged_at is None:
        return None
    days = (run.deliveries_purged_at - (run.finished_at or run.deliveries_purged_at)).days
    return gettext(
        "Delivery rows older than %(days)s days were purged on %(moment)s; figures are from "
        "the run's report."
    ) % {"days": days, "moment": moment_text(run.deliveries_purged_at)}
