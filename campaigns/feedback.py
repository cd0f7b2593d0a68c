"""Push feedback: the SDK reports that a campaign's push was received or tapped.

The device registry reaches this through the hook registered in CampaignsConfig.ready()
(devices.hooks), inside the transaction that records the SDK's activities; the ledger writes
the timestamps and counters."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from campaigns.ledger.feedback import delivery_feedback_record
from campaigns.models import Delivery, RunReport
from devices.models import Device, DeviceActivity
from devices.services.rules import RegistryError


def push_feedback_record(
    *, device: Device, items: list[tuple[int, dict[str, Any]]], field_prefix: str
) -> None:
    """Mark deliveries received/tapped; every one must have been sent to `device`."""
    wanted = {item["delivery_id"] for _, item in items}
    owned = {
        pk: (run_id, platform)
        for pk, run_id, platform in Delivery.objects.filter(
            pk__in=wanted, device_id=device.pk
        ).values_list("pk", "run_id", "platform")
    }
    for index, item in items:
        if item["delivery_id"] not in owned:
            raise RegistryError(
                f"{field_prefix}.{index}.delivery_id",
                "No delivery with this id was sent to this device.",
            )
    for _, item in items:
        run_id, platform = owned[item["delivery_id"]]
        delivery_feedback_record(
            delivery_id=item["delivery_id"],
            run_id=run_id,
            platform=platform,
            tapped=item["kind"] == DeviceActivity.Kind.PUSH_TAPPED,
            occurred_at=item["occurred_at"],
        )
    # A tap puts the run's report (tap decay) behind: flag it once per refresh, so the beat
    # and an open dashboard recompute it (a conditional UPDATE; no write while flagged).
    tapped_runs = {
        owned[item["delivery_id"]][0]
        for _, item in items
        if item["kind"] == DeviceActivity.Kind.PUSH_TAPPED
    }
    if tapped_runs:
        RunReport.objects.filter(run_id__in=tapped_runs).filter(
            Q(feedback_at__isnull=True) | Q(feedback_at__lte=F("computed_at"))
        ).update(feedback_at=timezone.now())
