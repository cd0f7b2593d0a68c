"""Push feedback: the SDK reports that a campaign's push was received or tapped.

The device registry reaches this through the hook registered in CampaignsConfig.ready()
(devices.hooks), inside the transaction that records the SDK's activities."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from campaigns.models import CampaignRun, Delivery
from devices.models import Device, DeviceActivity
from devices.services.rules import RegistryError


def push_feedback_record(
    *, device: Device, items: list[tuple[int, dict[str, Any]]], field_prefix: str
) -> None:
    """Mark deliveries received/tapped. Each timestamp is set once, with a conditional UPDATE;
    only the call that set it bumps the run counter, so repeats never double-count."""
    wanted = {item["delivery_id"] for _, item in items}
    owned = dict(
        Delivery.objects.filter(pk__in=wanted, device_id=device.pk).values_list("pk", "run_id")
    )
    for index, item in items:
        if item["delivery_id"] not in owned:
            raise RegistryError(
                f"{field_prefix}.{index}.delivery_id",
                "No delivery with this id was sent to this device.",
            )
    for _, item in items:
        # A tap proves receipt: iOS apps often cannot report `received` (no code runs when a
        # push arrives in the background), so a tap also sets received_at if it is unset.
        stamps = ["received_at"]
        if item["kind"] == DeviceActivity.Kind.PUSH_TAPPED:
            stamps.append("tapped_at")
        for stamp in stamps:
            updated = Delivery.objects.filter(
                pk=item["delivery_id"], **{f"{stamp}__isnull": True}
            ).update(**{stamp: item["occurred_at"]})
            if updated:
                counter = f"{stamp.removesuffix('_at')}_{device.platform}"
                CampaignRun.objects.filter(pk=owned[item["delivery_id"]]).update(
                    **{counter: F(counter) + 1}
                )
