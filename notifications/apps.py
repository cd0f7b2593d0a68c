from __future__ import annotations

from celery.schedules import crontab
from django.apps import AppConfig

from pushmarketing.core.celery import app as celery_app

# Uploads nothing refers to (notifications.image_retention): once a day, at a quiet hour (UTC).
IMAGES_PURGE_AT = crontab(hour=3, minute=47)


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        schedule = dict(celery_app.conf.beat_schedule or {})
        schedule.setdefault(
            "notifications-images-purge",
            {"task": "notifications.images_unreferenced_purge", "schedule": IMAGES_PURGE_AT},
        )
        celery_app.conf.beat_schedule = schedule
