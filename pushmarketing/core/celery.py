"""The Celery app and its queues.

- `interactive`: sample sends and *Verify push configuration*. A person is watching the page,
  so these have a worker lane of their own that consumes nothing else: a 10,000-message
  trigger backlog or a batch campaign never stands in front of them.
- `send`: trigger sends, their pump and API sends (latency matters).
- `bulk`: batch campaign chunks, so a big batch never starves a trigger send.
- `default`: resolution, scheduling and housekeeping.

Every published message carries `pm_sent_at` (epoch seconds) in its headers, so System health
can say how long a queue's oldest message has waited: Celery records no enqueue time."""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery
from celery.signals import before_task_publish

# Registers the embedded default's broker scheme (pmfs://) before any connection is made.
from pushmarketing.core import filesystem_broker  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")

QUEUES = ("interactive", "send", "bulk", "default")
SENT_AT_HEADER = "pm_sent_at"

app = Celery("pushmarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The send path lives in campaigns.delivery (not a `tasks.py` autodiscovery finds).
app.conf.imports = ("campaigns.delivery.tasks", "campaigns.reports.tasks")


@before_task_publish.connect
def stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Overwritten on every publish (a retry is a new wait, not the original one's)."""
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()
