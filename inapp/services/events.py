"""What the SDK reports about a shown message: impression, tap (with what was tapped) and
dismiss. One transaction writes the event (dashboard), the campaign's display state for the
device (the display limit reads it) and an activity row (the lead's activity log)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from devices.models import Device, DeviceActivity
from devices.services.activity_log import activities_insert
from devices.services.rules import DeviceNotFound
from inapp.models import TAP_TARGETS, InAppCampaign, InAppDisplayState, InAppEvent
from inapp.rules import InAppError

logger = logging.getLogger(__name__)

ACTIVITY_KINDS = {
    InAppEvent.Kind.IMPRESSION: DeviceActivity.Kind.INAPP_SHOWN,
    InAppEvent.Kind.TAP: DeviceActivity.Kind.INAPP_TAPPED,
    InAppEvent.Kind.DISMISS: DeviceActivity.Kind.INAPP_DISMISSED,
}


def _target_validate(campaign: InAppCampaign, kind: str, target: str) -> str:
    if kind != InAppEvent.Kind.TAP:
        if target:
            raise InAppError("target", "is only sent with a tap")
        return ""
    buttons = len((campaign.message.approved_content or {}).get("buttons") or [])
    allowed = [f"button{i}" for i in range(1, buttons + 1)] + list(TAP_TARGETS)
    if target not in allowed:
        raise InAppError("target", f"must be one of this message's: {', '.join(allowed)}")
    return target


def _state_record(*, campaign_id: int, device_id: int, kind: str, at: dt.datetime) -> None:
    # Insert-if-missing then a relative UPDATE: two phones' reports never lose an increment,
    # and a late report never moves the times backwards.
    InAppDisplayState.objects.bulk_create(
        [InAppDisplayState(campaign_id=campaign_id, device_id=device_id)], ignore_conflicts=True
    )
    state = InAppDisplayState.objects.filter(campaign_id=campaign_id, device_id=device_id)
    if kind == InAppEvent.Kind.IMPRESSION:
        state.update(
            impressions=F("impressions") + 1,
            last_impression_at=Greatest(Coalesce(F("last_impression_at"), Value(at)), Value(at)),
        )
    elif kind == InAppEvent.Kind.TAP:
        state.update(tapped_at=Coalesce(F("tapped_at"), Value(at)))


@transaction.atomic
def inapp_event_record(
    *,
    app_id: int,
    installation_id: str,
    campaign_id: int,
    kind: str,
    target: str = "",
    occurred_at: dt.datetime | None = None,
) -> InAppEvent:
    """Record one event of this app's device for one of this app's campaigns (any status: a
    message shown just before a pause is still counted)."""
    if kind not in InAppEvent.Kind.values:
        raise InAppError("kind", f"must be one of: {', '.join(InAppEvent.Kind.values)}")
    device = (
        Device.objects.filter(app_id=app_id, installation_id=installation_id)
        .only("id", "lead_id", "platform")
        .first()
    )
    if device is None:
        raise DeviceNotFound(installation_id)
    campaign = (
        InAppCampaign.objects.select_related("message")
        .filter(pk=campaign_id, app_id=app_id)
        .first()
    )
    if campaign is None:
        raise InAppError("campaign_id", "must be an in-app campaign of this app")
    target = _target_validate(campaign, kind, target)
    at = occurred_at or timezone.now()
    event = InAppEvent.objects.create(
        app_id=app_id,
        campaign=campaign,
        message_id=campaign.message_id,
        device_id=device.pk,
        lead_id=device.lead_id,
        platform=device.platform,
        kind=kind,
        target=target,
        occurred_at=at,
    )
    _state_record(campaign_id=campaign.pk, device_id=device.pk, kind=kind, at=at)
    activities_insert(
        [
            DeviceActivity(
                app_id=app_id,
                device_id=device.pk,
                lead_id=device.lead_id,
                kind=ACTIVITY_KINDS[InAppEvent.Kind(kind)],
                details=f"{campaign.name} · {target}"[:255] if target else campaign.name[:255],
                occurred_at=at,
            )
        ]
    )
    logger.info("In-app %s: campaign %s device %s %s", kind, campaign.pk, device.pk, target or "-")
    return event
