from __future__ import annotations

from django.apps import AppConfig

SCHEDULES_TICK_SECONDS = 30.0


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # The campaign scheduler lives in the database (Campaign.next_run_at); beat only has
        # to poll it. Registered here so the settings module stays shared and untouched.
        from pushmarketing.celery import app as celery_app

        schedule = dict(celery_app.conf.beat_schedule or {})
        schedule.setdefault(
            "campaigns-schedules-tick",
            {"task": "campaigns.schedules_tick", "schedule": SCHEDULES_TICK_SECONDS},
        )
        celery_app.conf.beat_schedule = schedule
