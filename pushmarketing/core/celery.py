"""The Celery app. Queues: `send` for trigger and sample sends (latency matters), `bulk` for
batch campaign chunks, `default` for resolution, scheduling and housekeeping; so a big batch
never starves a trigger send."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pushmarketing.settings")

app = Celery("pushmarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The send path lives in campaigns.delivery (not a `tasks.py` autodiscovery finds).
app.conf.imports = ("campaigns.delivery.tasks", "campaigns.reports.tasks")
