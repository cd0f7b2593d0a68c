"""Seeding for the benchmarks, self-contained (never imports tests/): an app, a push, a user,
N devices in one set-based statement, and a run whose rows go through the campaigns ledger
(run opened by `run_open`, rows inserted by `deliveries_insert`, counters from the counter
table), on PostgreSQL or SQLite.

Call after django.setup()."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from campaigns.ledger.counters import run_counters_add, run_counters_from_rows
from campaigns.ledger.inserts import deliveries_insert
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, MobileApp
from notifications.content import PushContent
from notifications.models import PushNotification


def app_create(*, tag: str | None = None, **fields: Any) -> MobileApp:
    tag = tag or uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "name": f"Bench {tag}",
        "ios_bundle_id": f"com.example.bench{tag}",
        "android_package": f"com.example.bench{tag}",
        "sdk_key": f"pk_bench_{tag}",
        "sdk_secret_hash": "x",
    }
    values.update(fields)
    return MobileApp.objects.create(**values)


def push_create(app: MobileApp, *, message: str = "hi", title: str = "") -> PushNotification:
    content = PushContent(message=message, title=title)
    return PushNotification.objects.create(
        app=app,
        name=f"Bench push {uuid.uuid4().hex[:6]}",
        title=title,
        message=message,
        status=PushNotification.Status.APPROVED,
        approved_content=content.to_dict(),
    )


def user_create(*, role: str = "marketer") -> Any:
    user = get_user_model().objects.create_user(
        username=f"bench-{role}-{uuid.uuid4().hex[:6]}", password=uuid.uuid4().hex
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def _series(n: int) -> str:
    if connection.vendor == "postgresql":
        return f"SELECT generate_series(1, {int(n)}) AS i"
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(n)}) "
        "SELECT i FROM s"
    )


def seed_devices(*, app_id: int, count: int, prefix: str = "bulk") -> None:
    """`count` eligible devices (half iOS, half Android, no lead) in one INSERT … SELECT."""
    now = timezone.now()
    sql = f"""
        INSERT INTO devices_device (
            app_id, platform, installation_id, push_token, first_opened_at, last_opened_at,
            push_enabled, is_test_device, test_device_name, locale, time_zone, app_version,
            os_version, device_model, status, status_reason, created_at, updated_at)
        SELECT %s, CASE WHEN i %% 2 = 0 THEN 'ios' ELSE 'android' END,
               %s || CAST(i AS TEXT), 'tok-' || %s || CAST(i AS TEXT),
               %s, %s, TRUE, FALSE, '', 'en_US', 'UTC', '1.0', '17', 'Phone', 'active', '', %s, %s
        FROM ({_series(count)}) AS series
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [app_id, f"{prefix}-", f"{prefix}-", now, now, now, now])


@transaction.atomic
def seed_sent_run(*, app: MobileApp, notification: PushNotification) -> CampaignRun:
    """A batch run with one `sent` delivery per device of the app, counters equal to rows.

    The ledger opens the run, inserts its rows (INSERT … SELECT) and counts them; the rows are
    then marked sent in one UPDATE per platform, counted through the counter table. The run
    is marked completed directly: its rows were never sent by the engine, and settling it
    would hand a report refresh to the configured broker (the benchmark times the refresh
    itself, in process)."""
    now = timezone.now()
    run = run_open(
        kind=CampaignRun.Kind.BATCH,
        status=CampaignRun.Status.SENDING,
        notification_id=notification.pk,
        app_id=app.pk,
        content=notification.approved_content or PushContent(message="hi").to_dict(),
        now=now,
    )
    deliveries_insert(run=run, audience=Device.objects.filter(app=app), now=now)
    run_counters_from_rows(run)
    queued = Delivery.objects.filter(run=run, status=Delivery.Status.QUEUED)
    per_platform = dict(queued.values_list("platform").annotate(n=Count("id")).order_by())
    sent = {
        (Delivery.Status.SENT.value, platform): queued.filter(platform=platform).update(
            status=Delivery.Status.SENT, sent_at=now, attempts=1
        )
        for platform in per_platform
    }
    run_counters_add(run_id=run.pk, counts=sent)
    CampaignRun.objects.filter(pk=run.pk).update(
        status=CampaignRun.Status.COMPLETED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run
