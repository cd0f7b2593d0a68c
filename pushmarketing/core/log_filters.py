"""Logging filters named by `LOGGING` in the settings.

Django logs every 4xx it answers because of an exception (PermissionDenied, Http404,
SuspiciousOperation) with the exception's traceback. A marketer opening an admin page is routine:
the log gets one line saying what was refused and why, not a traceback.

Celery logs three INFO lines for every periodic housekeeping task (beat sent it, the worker
received it, it succeeded): `make run`'s console scrolled with them every 10 seconds, burying
the lines about campaigns. Those three go; a housekeeping task's failure still shows.
"""

from __future__ import annotations

import logging

# Where Django logs the responses it made from exceptions.
CLIENT_ERROR_LOGGERS = ("django.request", "django.security")


class ClientErrorsOnOneLine(logging.Filter):
    """Drops the traceback of a 4xx record from django.request / django.security.*, adding the
    exception's message (the reason, e.g. "Your role does not allow this.") to the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500 or not record.exc_info:
            return True
        if not record.name.startswith(CLIENT_ERROR_LOGGERS):
            return True
        exc = record.exc_info[1]
        message = record.getMessage()
        reason = str(exc) if exc is not None else ""
        if reason and reason not in message:
            message = f"{message} ({reason})"
        record.msg, record.args = message, None
        record.exc_info, record.exc_text = None, None
        return True


def _routine_tasks() -> set[str]:
    """The tasks the scheduler sends on a timer: the settings' CELERY_BEAT_SCHEDULE and what
    the apps add to it when they are ready (campaigns.apps). Read at each record, not cached:
    a record logged during start-up must not freeze a schedule the apps have not filled yet."""
    # Imported here: Django's logging set-up loads this module before the Celery app exists.
    from pushmarketing.core.celery import app

    return {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}


class RoutineTasksQuiet(logging.Filter):
    """On celery.beat, celery.worker.strategy and celery.app.trace: drops the INFO lines
    about a periodic task ("Sending due task", "received", "succeeded"); keeps anything
    else, and every warning or error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args
        if isinstance(args, dict):  # the worker: Task %(name)s[%(id)s] received / succeeded
            task = args.get("name")
        elif isinstance(args, tuple) and len(args) == 2:  # beat: Sending due task %s (%s)
            task = args[1]
        else:
            return True
        return task not in _routine_tasks()
