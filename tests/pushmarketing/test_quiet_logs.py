"""Issue 13 item 8: expected 4xx are one log line, not a traceback; 5xx keep theirs."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse

from pushmarketing.core.celery import app as celery_app
from pushmarketing.core.log_filters import ClientErrorsOnOneLine


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler (settings.LOGGING) prints."""
    (handler,) = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, ClientErrorsOnOneLine) for f in h.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_a_403_for_a_role_is_one_line_with_its_reason(marketer_client, console, caplog):
    caplog.set_level(logging.INFO)
    response = marketer_client.get(reverse("app-list"))
    assert response.status_code == 403
    lines = console.getvalue().splitlines()
    assert lines == [line for line in lines if "Forbidden" in line]
    (line,) = lines
    assert line.endswith(
        "WARNING django.request: Forbidden (Permission denied): /apps/ "
        "(Your role does not allow this.)"
    )
    assert "Traceback" not in console.getvalue()
    # Printed once: Django's default "django" handler (a second traceback) is gone.
    assert logging.getLogger("django").handlers == []
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        "Forbidden (Permission denied): /apps/ (Your role does not allow this.)"
    ]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.django_db
def test_a_404_is_one_line(admin_client, console):
    assert admin_client.get("/no-such-page/").status_code == 404
    assert console.getvalue().count("\n") == 1
    assert "WARNING django.request: Not Found: /no-such-page/" in console.getvalue()


def _record(name: str, status: int, exc: BaseException, level: int = logging.WARNING):
    try:
        raise exc
    except type(exc):
        exc_info = sys.exc_info()
    record = logging.LogRecord(name, level, __file__, 1, "Bad request: %s", ("/x/",), exc_info)
    record.status_code = status
    return record


def test_the_filter_keeps_5xx_tracebacks_and_drops_4xx_ones():
    keep = _record("django.request", 500, RuntimeError("boom"), logging.ERROR)
    assert ClientErrorsOnOneLine().filter(keep) and keep.exc_info
    drop = _record("django.security.DisallowedHost", 400, SuspiciousOperation("bad host"))
    assert ClientErrorsOnOneLine().filter(drop)
    assert drop.exc_info is None
    assert drop.getMessage() == "Bad request: /x/ (bad host)"
    other = _record("campaigns.delivery", 400, ValueError("x"))
    assert ClientErrorsOnOneLine().filter(other) and other.exc_info


def _celery_lines(task: str) -> None:
    """What Celery logs around one task, with its own loggers and format strings."""
    from celery.app.trace import LOG_FAILURE, LOG_RECEIVED, LOG_SUCCESS

    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "entry", task)
    context = {"name": task, "id": "a1b2", "runtime": 0.01, "return_value": None}
    logging.getLogger("celery.worker.strategy").info(LOG_RECEIVED, context)
    logging.getLogger("celery.app.trace").info(LOG_SUCCESS, context)
    failure = {**context, "description": "raised unexpected", "exc": "OperationalError()"}
    logging.getLogger("celery.app.trace").error(LOG_FAILURE, failure)


@pytest.mark.parametrize(
    "routine",
    [
        "campaigns.deliveries_sweep",  # from the settings' CELERY_BEAT_SCHEDULE
        "campaigns.deliveries_sweep_orphans",  # added by campaigns.apps when ready
        "campaigns.triggers_drain",
        "core.rate_counters_purge",
        "notifications.images_unreferenced_purge",  # added by notifications.apps when ready
    ],
)
def test_periodic_housekeeping_is_silent_unless_it_fails(routine, console, caplog):
    caplog.set_level(logging.INFO)
    assert routine in {entry["task"] for entry in celery_app.conf.beat_schedule.values()}

    _celery_lines(routine)

    assert console.getvalue().splitlines() == [
        line for line in console.getvalue().splitlines() if "ERROR celery.app.trace" in line
    ]
    assert f"Task {routine}[a1b2] raised unexpected" in console.getvalue()


def test_campaign_tasks_keep_their_lines(console, caplog):
    caplog.set_level(logging.INFO)

    _celery_lines("campaigns.deliveries_send")

    lines = console.getvalue().splitlines()
    assert len(lines) == 4
    assert "Sending due task entry (campaigns.deliveries_send)" in lines[0]
    assert lines[1].endswith("Task campaigns.deliveries_send[a1b2] received")
    assert "succeeded in 0.01s" in lines[2]
