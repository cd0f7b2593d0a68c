"""Logging filters named by `LOGGING` in the settings.

Django logs every 4xx it answers because of an exception (PermissionDenied, Http404,
SuspiciousOperation) with the exception's traceback. A marketer opening an admin page is routine:
the log gets one line saying what was refused and why, not a traceback.
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
