"""Celery interfaces for the core's housekeeping; the beat schedules them (settings)."""

from __future__ import annotations

from celery import shared_task

from pushmarketing.core import throttling


@shared_task(name="core.rate_counters_purge", ignore_result=True)
def rate_counters_purge() -> int:
    return throttling.rate_counters_purge()
