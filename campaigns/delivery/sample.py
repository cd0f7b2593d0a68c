"""Sample sends: a notification's working copy (a draft is fine) to chosen test devices.

A sample is a CampaignRun(kind=sample) like any other, so it goes through the same claim →
send → record path (queue `interactive`, a worker lane of its own) and the UI follows its
deliveries to a terminal state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.delivery.dispatch import deliveries_dispatch
from campaigns.delivery.reasons import skip_reason_text
from campaigns.ledger.inserts import NewDelivery, deliveries_insert_returning
from campaigns.ledger.runs import run_open
from campaigns.models import CampaignRun, Delivery
from devices.models import Device, Lead, Platform
from notifications.content import CONTENT_FIELDS, TRANSLATIONS_KEY, PushContent
from notifications.models import NotificationEvent, PushNotification
from notifications.personalization import TokenError, compile_content
from notifications.translations import translations_snapshot

MAX_SAMPLE_DEVICES = 20


def notification_sample_content(notification: PushNotification) -> PushContent:
    """The working copy as PushContent (image as the absolute URL devices download)."""
    data: dict[str, Any] = {
        name: getattr(notification, name) for name in CONTENT_FIELDS if name != "image_url"
    }
    data["custom_data"] = dict(notification.custom_data or {})
    data["image_url"] = (
        f"{settings.SITE_URL}/{settings.MEDIA_URL.strip('/')}/{notification.image.name}"
        if notification.image
        else ""
    )
    return PushContent(**data)


def _with_translations(content: PushContent, notification: PushNotification) -> dict[str, Any]:
    """The run's frozen content: a sample shows each test device its own language too."""
    snapshot = content.to_dict()
    translations = translations_snapshot(notification.translations.all())
    if translations:
        snapshot[TRANSLATIONS_KEY] = translations
    return snapshot


def _validate(
    notification: PushNotification, device_ids: Sequence[int], content: PushContent
) -> list[Device]:
    if not device_ids:
        raise ValidationError({"device_ids": [gettext("Pick at least one test device.")]})
    if len(device_ids) > MAX_SAMPLE_DEVICES:
        raise ValidationError(
            {
                "device_ids": [
                    gettext("Pick at most %(limit)s test devices at a time.")
                    % {"limit": MAX_SAMPLE_DEVICES}
                ]
            }
        )
    devices = list(
        Device.objects.filter(id__in=device_ids, app_id=notification.app_id, is_test_device=True)
    )
    if len(devices) != len(set(device_ids)):
        raise ValidationError(
            {"device_ids": [gettext("Only test devices of this push's app can be sent a sample.")]}
        )
    try:
        compile_content(content)
    except TokenError as exc:
        raise ValidationError({"message": [str(exc)]}) from exc
    if not content.message.strip():
        raise ValidationError({"message": [gettext("The message is required.")]})
    return devices


@transaction.atomic
def sample_send(
    *,
    notification: PushNotification,
    device_ids: Sequence[int],
    lead: Lead | None,
    actor: Any,
) -> CampaignRun:
    """Freeze the working copy, create one delivery per test device, dispatch on `interactive`.

    With `lead`, every device renders the tokens as that lead; otherwise each device's own
    lead (test devices need none: tokens then use their defaults)."""
    content = notification_sample_content(notification)
    devices = _validate(notification, device_ids, content)
    now = timezone.now()
    run = run_open(
        kind=CampaignRun.Kind.SAMPLE,
        status=CampaignRun.Status.SENDING,
        notification_id=notification.pk,
        app_id=notification.app_id,
        content=_with_translations(content, notification),
        started_by_id=actor.pk if actor is not None and actor.is_authenticated else None,
        now=now,
    )
    deliveries_insert_returning(
        run_id=run.pk,
        rows=[
            NewDelivery(
                device_id=device.pk,
                lead_id=lead.pk if lead else device.lead_id,
                platform=device.platform,
            )
            for device in devices
        ],
        now=now,
    )
    NotificationEvent.objects.create(
        notification=notification,
        actor=actor,
        action="sample_sent",
        details={
            "run_id": run.id,
            "devices": [d.test_device_name or d.installation_id for d in devices],
            "rendered_as": lead.email if lead else "",
        },
    )
    deliveries_dispatch(run=run)
    return run


@dataclass(frozen=True)
class SampleRow:
    delivery_id: int
    device_name: str
    platform: str
    platform_label: str
    status: str
    status_label: str
    reason: str
    terminal: bool


def sample_status(*, run: CampaignRun) -> dict[str, Any]:
    """Per device: queued / sending / sent / failed with the provider's reason (one query)."""
    labels = dict(Delivery.Status.choices)
    platform_labels = dict(Platform.choices)
    rows = [
        SampleRow(
            delivery_id=d.id,
            device_name=d.device.test_device_name or d.device.installation_id,
            platform=d.platform,
            platform_label=str(platform_labels.get(d.platform, d.platform)),
            status=d.status,
            status_label=str(labels[d.status]),
            reason=skip_reason_text(d.reason) if d.status == Delivery.Status.SKIPPED else d.reason,
            terminal=d.status in Delivery.TERMINAL,
        )
        for d in run.deliveries.select_related("device").order_by("id")
    ]
    return {
        "run_id": run.id,
        "done": all(row.terminal for row in rows),
        "deliveries": [row.__dict__ for row in rows],
    }
