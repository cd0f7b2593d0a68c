"""Background refresh of RunReport aggregates (see campaigns.report_refresh)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from campaigns.report_refresh import run_report_refresh, runs_needing_report

REFRESH_DEBOUNCE_SECONDS = 10


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


def run_report_request(run_id: int) -> bool:
    """Ask for a refresh from a page view, at most once per debounce window per run."""
    if not cache.add(f"run-report-refresh:{run_id}", 1, REFRESH_DEBOUNCE_SECONDS):
        return False
    run_report_refresh_task.delay(run_id)
    return True
