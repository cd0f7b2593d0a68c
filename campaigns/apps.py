from __future__ import annotations

from celery.schedules import crontab
from django.apps import AppConfig

from pushmarketing.core.celery import app as celery_app

SCHEDULES_TICK_SECONDS = 30.0
# A safety net only: SDK calls wake the trigger pump themselves (devices.trigger_outbox).
TRIGGER_PUMP_TICK_SECONDS = 10.0
# Rows held by a worker whose heartbeat stopped move again within the heartbeat TTL (15 s)
# plus this (pushmarketing.core.liveness, campaigns.delivery.sweep.deliveries_sweep_orphans).
ORPHANS_SWEEP_SECONDS = 10.0
# Retention (campaigns.ledger.retention): once a day, at a quiet hour (UTC).
DELIVERIES_PURGE_AT = crontab(hour=3, minute=17)

# Beat entry -> (task, schedule). Registered in ready() so the settings module stays shared.
BEAT_SCHEDULE = {
    # The campaign scheduler lives in the database (Campaign.next_run_at); beat polls it.
    "campaigns-schedules-tick": ("campaigns.schedules_tick", SCHEDULES_TICK_SECONDS),
    "campaigns-trigger-pump-tick": ("campaigns.triggers_drain", TRIGGER_PUMP_TICK_SECONDS),
    "campaigns-orphans-sweep": ("campaigns.deliveries_sweep_orphans", ORPHANS_SWEEP_SECONDS),
    "campaigns-deliveries-purge": ("campaigns.deliveries_purge", DELIVERIES_PURGE_AT),
    # A/B winners whose wait is over (campaigns.abtest.winner); the ETA task usually is first.
    "campaigns-ab-winners-due": ("campaigns.ab_winners_due", SCHEDULES_TICK_SECONDS),
}


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        schedule = dict(celery_app.conf.beat_schedule or {})
        for name, (task, when) in BEAT_SCHEDULE.items():
            schedule.setdefault(name, {"task": task, "schedule": when})
        celery_app.conf.beat_schedule = schedule
        _hooks_register()


def _hooks_register() -> None:
    """Campaigns' part in the lower apps' work (devices.hooks, notifications.hooks)."""
    # Imported here, not at the top: these modules import models, which Django allows only
    # once the app registry is ready (this module is imported while it is being filled).
    from campaigns.feedback import push_feedback_record
    from campaigns.listeners import listens_sql, trigger_kinds_listened
    from campaigns.selectors import (
        deliveries_recent,
        notification_campaign_names,
        run_image_names,
    )
    from devices import hooks as device_hooks
    from notifications import hooks as notification_hooks

    device_hooks.push_feedback_register(push_feedback_record)
    device_hooks.trigger_listeners_register(kinds=trigger_kinds_listened, sql=listens_sql)
    device_hooks.deliveries_recent_register(deliveries_recent)
    notification_hooks.notification_users_register(notification_campaign_names)
    notification_hooks.image_users_register(run_image_names)
