"""Dashboards, live progress and exports: thin views over campaigns.reports / export."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from campaigns import enqueue, selectors
from campaigns.export import campaign_summary_csv, run_deliveries_csv
from campaigns.models import Campaign, CampaignRun, RunReport
from campaigns.reports.figures import (
    Figures,
    campaign_figures,
    notification_figures,
    run_figures,
    run_purge_note,
)
from campaigns.reports.variants import campaign_comparison, run_comparison
from notifications.models import PushNotification
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required

READERS = (Role.MARKETER, Role.APPROVER)


def _rate_and_eta(run: CampaignRun, figures: Figures) -> tuple[float | None, int | None]:
    """Average messages/s since the run started, and seconds left at that rate."""
    if run.started_at is None or figures.done == 0:
        return None, None
    end = run.finished_at or timezone.now()
    elapsed = max((end - run.started_at).total_seconds(), 0.001)
    rate = figures.done / elapsed
    remaining = figures.deliveries - figures.done
    eta = int(remaining / rate) if rate > 0 and remaining > 0 and run.finished_at is None else None
    return round(rate, 2), eta


def _report_stale(run: CampaignRun) -> bool:
    try:
        report = run.report
    except RunReport.DoesNotExist:
        return True
    return run.finished_at is not None and report.computed_at < run.finished_at


def _report_behind_feedback(run: CampaignRun) -> bool:
    """Taps came in after the report was computed (its tap decay is behind)."""
    try:
        report = run.report
    except RunReport.DoesNotExist:
        return False
    return report.feedback_at is not None and report.feedback_at > report.computed_at


UNIT_LABELS: dict[str, tuple[str, StrOrPromise]] = {
    RunReport.Unit.SECOND: ("s", _("Second")),
    RunReport.Unit.MINUTE: ("min", _("Minute")),
    RunReport.Unit.HOUR: ("h", _("Hour")),
}


def _chart(
    points: list[list[int]],
    unit: str,
    *,
    key: str,
    title: StrOrPromise,
    axis: StrOrPromise,
    y_label: StrOrPromise,
) -> dict[str, object]:
    """What static/js/charts.js draws (uPlot), read from a <script type="application/json">:
    x = offsets in `unit` since the run's first send, one series per platform."""
    short, name = UNIT_LABELS.get(unit, (unit, unit))
    return {
        "key": key,
        "title": title,
        "unit": short,
        "unit_name": name,
        "x_label": f"{axis} ({short})",
        "y_label": y_label,
        "x": [p[0] for p in points],
        "series": [
            {"label": "iOS", "values": [p[1] for p in points]},
            {"label": "Android", "values": [p[2] for p in points]},
        ],
        "rows": points,
    }


def _charts(figures: Figures) -> dict[str, object]:
    return {
        "charts": [
            _chart(
                figures.sends_over_time,
                figures.sends_unit,
                key="sends",
                title=_("Sends over time"),
                axis=_("Time since the first send"),
                y_label=_("Pushes sent"),
            ),
            _chart(
                figures.tap_decay,
                figures.tap_decay_unit,
                key="taps",
                title=_("Tap decay"),
                axis=_("Time since the first send"),
                y_label=_("Taps"),
            ),
        ]
    }


@role_required(*READERS)
@addon_required
def run_dashboard(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(
        CampaignRun.objects.select_related(
            "campaign", "notification", "app", "report", "ab_test_run__report"
        ),
        pk=run_id,
    )
    figures = run_figures(run=run)
    rate, eta = _rate_and_eta(run, figures)
    stale = _report_stale(run)
    if stale:  # beat refreshes it too; this makes a just-finished run quick
        enqueue.run_report_refresh_soon(run_id=run.pk)
    context = {
        "run": run,
        "run_number": selectors.run_number(run),
        "figures": figures,
        "rate": rate,
        "eta": eta,
        "scope": "run",
        "final": run.finished_at is not None and not stale,
        "purge_note": run_purge_note(run),
        "comparison": run_comparison(run.ab_test_run or run),
    }
    return render(request, "campaigns/dashboard.html", {**context, **_charts(figures)})


@role_required(*READERS)
@addon_required
def run_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    """Polled by the dashboard while a run sends and until its final report is in: the
    counters, and the figures section rendered again (so it updates without a reload)."""
    run = get_object_or_404(CampaignRun.objects.select_related("report"), pk=run_id)
    figures = run_figures(run=run)
    rate, eta = _rate_and_eta(run, figures)
    stale = _report_stale(run)
    if (stale and run.finished_at is not None) or _report_behind_feedback(run):
        enqueue.run_report_refresh_soon(run_id=run.pk)
    figures_html = render_to_string(
        "campaigns/_dashboard_figures.html",
        {"figures": figures, "scope": "run", **_charts(figures)},
        request=request,
    )
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "finished": run.finished_at is not None,
            # Polling slows down once the final reasons and charts are computed (taps still
            # come in after a run ends).
            "report_ready": not stale,
            "figures_html": figures_html,
            "rate_per_second": rate,
            "eta_seconds": eta,
            "deliveries_purged_note": run_purge_note(run),
            **figures.as_dict(),
        }
    )


@role_required(*READERS)
@addon_required
def campaign_dashboard(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("notification", "app"), pk=campaign_id
    )
    figures = campaign_figures(campaign=campaign)
    runs = selectors.campaign_runs(campaign, limit=50)
    context = {
        "campaign": campaign,
        "figures": figures,
        "runs": runs,
        "scope": "campaign",
        "comparison": campaign_comparison(campaign),
    }
    return render(request, "campaigns/dashboard.html", {**context, **_charts(figures)})


@role_required(*READERS)
@addon_required
def notification_dashboard(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(
        PushNotification.objects.select_related("app"), pk=notification_id
    )
    figures = notification_figures(notification_id=notification.pk)
    # The campaigns whose runs the figures sum: not every campaign set to this push (a draft
    # has sent nothing), and one that sent it before switching to another push still counts.
    sent_by = CampaignRun.objects.filter(notification=notification).exclude(
        kind=CampaignRun.Kind.SAMPLE
    )
    campaigns = Campaign.objects.filter(pk__in=sent_by.values("campaign_id")).order_by("name")
    context = {
        "notification": notification,
        "figures": figures,
        "campaigns": campaigns,
        "scope": "notification",
    }
    return render(request, "campaigns/dashboard.html", {**context, **_charts(figures)})


@role_required(*READERS)
# pushmarketing.ui.View should be Callable[..., HttpResponseBase] (it streams); fix it there.
@addon_required  # type: ignore[arg-type]
def run_export(request: HttpRequest, run_id: int) -> StreamingHttpResponse | HttpResponse:
    run = get_object_or_404(CampaignRun, pk=run_id)
    purge_note = run_purge_note(run)
    if purge_note is not None:  # an empty CSV would read as "this run sent nothing"
        return HttpResponse(purge_note, status=410, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(run_deliveries_csv(run=run), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-deliveries.csv"'
    return response


@role_required(*READERS)
# pushmarketing.ui.View should be Callable[..., HttpResponseBase] (it streams); fix it there.
@addon_required  # type: ignore[arg-type]
def campaign_summary_export(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = StreamingHttpResponse(
        campaign_summary_csv(campaign_id=campaign.pk), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-summary.csv"'
    return response
