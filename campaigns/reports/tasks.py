"""Background refresh of RunReport aggregates (see campaigns.reports.refresh)."""

from __future__ import annotations

from celery import shared_task

from campaigns.reports.refresh import run_report_refresh, runs_needing_report


@shared_task(name="campaigns.run_report_refresh", ignore_result=True)
def run_report_refresh_task(run_id: int) -> None:
    run_report_refresh(run_id=run_id)


@shared_task(name="campaigns.run_reports_refresh_due", ignore_result=True)
def run_reports_refresh_due() -> int:
    """Beat: refresh the reports of runs that are sending or ended recently."""
    run_ids = runs_needing_report()
    for run_id in run_ids:
        run_report_refresh(run_id=run_id)
    return len(run_ids)
