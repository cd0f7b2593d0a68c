"""The A/B comparison a dashboard shows: per variant sent, received, tapped, tap-through rate,
and the confidence statement, read from the run's RunReport (computed by the report task) and
the arms frozen in the run; nothing here counts deliveries."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.abtest.stats import Arm, Verdict, arms_verdict
from campaigns.models import Campaign, CampaignRun, RunReport
from notifications.models import PushNotification


@dataclass(frozen=True)
class VariantRow:
    label: str
    push_name: str
    share_percent: int
    control: bool
    deliveries: int
    sent: int
    received: int
    tapped: int
    held_out: int
    tap_rate_percent: float | None
    winner: bool


@dataclass(frozen=True)
class Comparison:
    run_id: int
    rows: list[VariantRow]
    verdict: Verdict | None
    statement: str
    test_percent: int | None
    winner: str
    winner_due_at: datetime | None
    winner_run_id: int | None


def _rate(tapped: int, sent: int) -> float | None:
    return round(100.0 * tapped / sent, 2) if sent else None


def verdict_statement(verdict: Verdict | None) -> str:
    """ "B beats A with 97 % confidence" / "Not significant yet, ~N more sends needed"."""
    if verdict is None:
        return _("Not enough sends yet to compare the variants.")
    percent = int(verdict.confidence * 100)
    if verdict.significant:
        return _("%(leader)s beats %(runner_up)s with %(confidence)s %% confidence.") % {
            "leader": verdict.leader,
            "runner_up": verdict.runner_up,
            "confidence": percent,
        }
    if verdict.more_sends_needed is None:
        return _("Not significant yet: no difference in tap-through so far.")
    return ngettext(
        "Not significant yet (%(leader)s leads %(runner_up)s with %(confidence)s %% "
        "confidence), ~%(n)s more send needed for 95 %% confidence.",
        "Not significant yet (%(leader)s leads %(runner_up)s with %(confidence)s %% "
        "confidence), ~%(n)s more sends needed for 95 %% confidence.",
        verdict.more_sends_needed,
    ) % {
        "leader": verdict.leader,
        "runner_up": verdict.runner_up,
        "confidence": percent,
        "n": f"{verdict.more_sends_needed:,}",
    }


def run_comparison(run: CampaignRun) -> Comparison | None:
    """The comparison of an A/B test run (None for a run without variants)."""
    if not run.variants:
        return None
    try:
        counts = run.report.by_variant
    except RunReport.DoesNotExist:
        counts = {}
    names = dict(
        PushNotification.objects.filter(
            pk__in=[arm["notification_id"] for arm in run.variants.values()]
        ).values_list("pk", "name")
    )
    rows = []
    for label, arm in sorted(run.variants.items()):
        c = counts.get(label, {})
        control = arm["content"] is None
        rows.append(
            VariantRow(
                label=label,
                push_name=_("Control: sends nothing")
                if control
                else names.get(arm["notification_id"], ""),
                share_percent=arm["share"],
                control=control,
                deliveries=c.get("deliveries", 0),
                sent=c.get("sent", 0),
                received=c.get("received", 0),
                tapped=c.get("tapped", 0),
                held_out=c.get("held_out", 0),
                tap_rate_percent=None if control else _rate(c.get("tapped", 0), c.get("sent", 0)),
                winner=run.ab_winner == label,
            )
        )
    verdict = arms_verdict([Arm(r.label, r.sent, r.tapped) for r in rows if not r.control])
    winner_run = (
        CampaignRun.objects.filter(ab_test_run=run).values_list("pk", flat=True).first()
        if run.ab_winner
        else None
    )
    return Comparison(
        run_id=run.pk,
        rows=rows,
        verdict=verdict,
        statement=verdict_statement(verdict),
        test_percent=run.ab_test_percent,
        winner=run.ab_winner,
        winner_due_at=run.ab_winner_due_at,
        winner_run_id=winner_run,
    )


def campaign_comparison(campaign: Campaign) -> Comparison | None:
    """The comparison of the campaign's latest A/B test run (None if it never ran one)."""
    run = (
        CampaignRun.objects.filter(campaign=campaign, kind=CampaignRun.Kind.BATCH)
        .exclude(variants={})
        .select_related("report")
        .order_by("-created_at", "-id")
        .first()
    )
    return run_comparison(run) if run is not None else None


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """The comparison in the management API's shape (English statement: stable for machines)."""
    return {
        "run_id": comparison.run_id,
        "variants": [asdict(row) for row in comparison.rows],
        "confidence": comparison.verdict.confidence if comparison.verdict else None,
        "statement": comparison.statement,
        "test_percent": comparison.test_percent,
        "winner": comparison.winner,
        "winner_due_at": comparison.winner_due_at,
        "winner_run_id": comparison.winner_run_id,
    }
