"""Seeding for bench/inapp.py (call after django.setup(), on PostgreSQL): the in-app add-on
on, an admin, N leads and N devices of the bench app (opened twice, half iOS, half Android,
one "opened" activity each), set-based in a few statements; then 20 live in-app campaigns made
through the real services, with audiences of every kind the builder offers (platform, lead
field, activity within N days, NOT forms), both triggers, the three display limits, a
frequency cap and spread priorities; and display states for a tenth of the devices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from devices.models import Device, DeviceActivity, Lead, MobileApp
from inapp.models import InAppCampaign, InAppDisplayState
from inapp.services.addon import addon_in_app_set_enabled
from inapp.services.campaigns import campaign_approve, campaign_create
from inapp.services.messages import message_approve, message_create

CAMPAIGNS = 20


def _rows(devices: int, app_id: int) -> None:
    lead, device, activity = (
        Lead._meta.db_table,
        Device._meta.db_table,
        DeviceActivity._meta.db_table,
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {lead} (email, first_name, last_name, phone, company, city, country,
                                custom_fields, created_at, updated_at)
            SELECT 'bench-' || n || '@example.com', 'First' || n, 'Lead', '', '', '', '',
                   jsonb_build_object('tier', CASE WHEN n %% 4 = 0 THEN 'gold' ELSE 'basic' END),
                   %s, %s
            FROM generate_series(1, %s) AS n
            """,
            [now, now, devices],
        )
        cursor.execute(
            f"""
            INSERT INTO {device} (app_id, platform, installation_id, push_token, lead_id,
                first_opened_at, last_opened_at, push_enabled, is_test_device, test_device_name,
                locale, time_zone, app_version, os_version, device_model, status,
                status_reason, created_at, updated_at)
            SELECT %s, CASE WHEN n %% 2 = 0 THEN 'ios' ELSE 'android' END, 'inst-' || n, '',
                   l.id, %s, %s, true, false, '', 'en_US', 'Europe/Paris',
                   CASE WHEN n %% 3 = 0 THEN '2.0' ELSE '1.9' END, '', '', 'active', '', %s, %s
            FROM generate_series(1, %s) AS n
            JOIN {lead} l ON l.email = 'bench-' || n || '@example.com'
            """,
            [app_id, now - dt.timedelta(days=3), now - dt.timedelta(minutes=5), now, now, devices],
        )
        cursor.execute(
            f"""
            INSERT INTO {activity} (app_id, device_id, lead_id, kind, action_name, action_type,
                                    details, occurred_at, created_at)
            SELECT app_id, id, lead_id, 'opened', '', '', '', last_opened_at, %s
            FROM {device} WHERE app_id = %s
            """,
            [now, app_id],
        )
        cursor.execute("ANALYZE")


def _audiences() -> list[list[dict[str, Any]]]:
    gold = {"field": "lead_field", "lead_field": "tier", "op": "equals", "value": "gold"}
    return [
        [{"field": "platform", "op": "is", "value": "ios"}],
        [{"field": "platform", "op": "is", "value": "ios", "negate": True}],
        [gold],
        [{**gold, "negate": True}],
        [{"field": "opened", "within_days": 30}],
        [{"field": "app_version", "op": "equals", "value": "2.0"}],
        [{"field": "session", "within_days": 7, "negate": True}],
        [],
    ]


def seed(devices: int, sdk_key: str) -> None:
    app = MobileApp.objects.get(sdk_key=sdk_key)
    admin = get_user_model().objects.create_superuser("bench-admin", "", "bench-pass-unused")
    addon_in_app_set_enabled(enabled=True, actor=admin)
    _rows(devices, app.pk)
    audiences = _audiences()
    limits = list(InAppCampaign.DisplayLimit.values)
    for index in range(CAMPAIGNS):
        message = message_create(
            app=app,
            actor=admin,
            fields={
                "name": f"Bench message {index}",
                "layout": "popup_text",
                "title": "Hi {{lead.First Name:default=there}}",
                "body": f"Offer {index} for {{{{lead.Last Name:default=you}}}}",
                "buttons": [
                    {"label": "Shop", "ios": {"action": "deep_link", "uri": f"app://o/{index}"}},
                    {"label": "Later"},
                ],
            },
        )
        message_approve(message=message, actor=admin)
        custom = index % 4 == 3
        campaign = campaign_create(
            app=app,
            actor=admin,
            fields={
                "name": f"Bench campaign {index}",
                "message": message,
                "audience": audiences[index % len(audiences)],
                "trigger": "custom_action" if custom else "app_open",
                "trigger_action_name": "Checkout" if custom else "",
                "display_limit": limits[index % len(limits)],
                "priority": 1 + index % 10,
                "frequency_cap_count": 20 if index == 0 else None,
                "frequency_cap_hours": 24 if index == 0 else None,
            },
        )
        campaign_approve(campaign=campaign, actor=admin)
    # A tenth of the devices already saw the best campaigns (their display state rows).
    best = list(InAppCampaign.objects.order_by("-priority", "-approved_at")[:3])
    states = [
        InAppDisplayState(
            campaign=campaign, device_id=device_id, impressions=1, last_impression_at=timezone.now()
        )
        for campaign in best
        for device_id in Device.objects.filter(app=app).values_list("id", flat=True)[
            : devices // 10
        ]
    ]
    InAppDisplayState.objects.bulk_create(states, batch_size=5000)
    print(f"seeded {devices} devices, {CAMPAIGNS} live in-app campaigns, {len(states)} states")
