"""A/B test fixtures: many leads with their devices, seeded set-based, and campaigns with
variants (two pushes whose texts say which variant a receipt came from)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.abtest.variants import AbTestSpec, VariantSpec, campaign_variants_set
from campaigns.ledger.counters import run_counters_add
from campaigns.models import Campaign, CampaignRun, Delivery
from devices.models import Lead, MobileApp
from notifications.models import PushNotification
from tests.bulk_seed import _series
from tests.campaign_fixtures import approve
from tests.factories import PushNotificationFactory


def seed_leads_with_devices(
    *, app: MobileApp, devices: int, paired: int = 0, prefix: str = "ab"
) -> None:
    """`devices` eligible Android devices (FCM tokens the simulator accepts); the last
    `paired` of them belong two by two to one lead, every other device to a lead of its own.
    Device n's installation id is `{prefix}-{n}`, its lead's email `{prefix}-{lead}@example.com`."""
    single = devices - paired
    leads = single + (paired + 1) // 2
    created = Lead.objects.bulk_create(
        [
            Lead(email=f"{prefix}-{k}@example.com", first_name=f"Lead{k}")
            for k in range(1, leads + 1)
        ],
        batch_size=2000,
    )
    first = created[0].pk
    # Lead k is row first + k - 1: the SELECT below computes it instead of looking it up.
    assert [lead.pk for lead in created] == list(range(first, first + leads))
    now = timezone.now()
    # Device n -> lead n, or for the paired tail two devices per lead.
    lead_number = f"CASE WHEN i <= {single} THEN i ELSE {single} + (i - {single} + 1) / 2 END"
    sql = f"""
        INSERT INTO devices_device (
            app_id, platform, installation_id, push_token, first_opened_at, last_opened_at,
            push_enabled, is_test_device, test_device_name, locale, time_zone, app_version,
            os_version, device_model, status, status_reason, created_at, updated_at, lead_id)
        SELECT %s, 'android', %s || CAST(i AS TEXT), %s || CAST(i AS TEXT), %s, %s, TRUE, FALSE,
               '', 'en_US', 'UTC', '1.0', '14', 'Pixel', 'active', '', %s, %s,
               %s + ({lead_number}) - 1
        FROM ({_series(devices)}) AS series
    """  # noqa: S608 - numbers from the arguments, every value a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [app.pk, f"{prefix}-", f"ok-{prefix}-", now, now, now, now, first])


def variant_push(app: MobileApp, label: str) -> PushNotification:
    """An approved push whose title names its variant (receipts show which one arrived)."""
    return approve(
        PushNotificationFactory(app=app, name=f"Variant {label}", title=f"Variant {label}")
    )


def ab_campaign(
    *,
    app: MobileApp,
    shares: dict[str, int],
    controls: tuple[str, ...] = (),
    winner: dict[str, Any] | None = None,
    **fields: Any,
) -> Campaign:
    """A batch campaign whose variants have `shares` (label -> percent); labels in `controls`
    send nothing. `winner`: {"test_percent": .., "wait_minutes": ..} for winner mode."""
    pushes = {label: variant_push(app, label) for label in shares if label not in controls}
    campaign = Campaign.objects.create(
        app=app,
        notification=next(iter(pushes.values())),
        name=fields.pop("name", "A/B"),
        kind=Campaign.Kind.BATCH,
        **fields,
    )
    spec = AbTestSpec(
        variants=tuple(
            VariantSpec(label, pushes.get(label), share) for label, share in shares.items()
        ),
        winner_mode=winner is not None,
        test_percent=(winner or {}).get("test_percent"),
        wait_minutes=(winner or {}).get("wait_minutes"),
    )
    campaign_variants_set(campaign=campaign, spec=spec)
    return campaign


def ab_run_sent(campaign: Campaign, *, tap_every: dict[str, int]) -> CampaignRun:
    """Start `campaign` and play its test run through the ledger without a worker: resolved,
    every row sent, one in `tap_every[label]` of each variant tapped, completed, reported.
    Celery is not reached: the resolution runs here and the send tasks are dropped."""
    from campaigns import enqueue, resolve, services
    from campaigns.ledger.feedback import delivery_feedback_record
    from campaigns.ledger.runs import run_settle_by_id
    from campaigns.reports.refresh import run_report_refresh

    with _enqueue_dropped(enqueue):
        services.campaign_start(actor=None, campaign=campaign)
        run = campaign.runs.get()
        resolve.run_resolve(run_id=run.pk)
        now = timezone.now()
        for platform in ("ios", "android"):
            queued = Delivery.objects.filter(
                run=run, status=Delivery.Status.QUEUED, platform=platform
            )
            sent = queued.update(status=Delivery.Status.SENT, sent_at=now, attempts=1)
            run_counters_add(run_id=run.pk, counts={(Delivery.Status.SENT, platform): sent})
        for label, every in tap_every.items():
            rows = Delivery.objects.filter(run=run, variant=label).order_by("id")
            for delivery_id, platform in list(rows.values_list("id", "platform"))[::every]:
                delivery_feedback_record(
                    delivery_id=delivery_id,
                    run_id=run.pk,
                    platform=platform,
                    tapped=True,
                    occurred_at=now,
                )
        with transaction.atomic():  # as the ledger's callers do: it locks the run
            run_settle_by_id(run_id=run.pk, now=now)
        run_report_refresh(run_id=run.pk)
    run.refresh_from_db()
    return run


@contextmanager
def _enqueue_dropped(enqueue: Any) -> Iterator[None]:
    original = enqueue._after_commit
    enqueue._after_commit = lambda *args, **kwargs: None
    try:
        yield
    finally:
        enqueue._after_commit = original
