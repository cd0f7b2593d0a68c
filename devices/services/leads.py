"""Leads: the SDK reports who logged in on a device; the device follows that lead."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from devices.models import Device, Lead
from devices.services.locking import device_locked
from devices.services.rules import MAX_CUSTOM_FIELDS, RegistryError
from devices.trigger_outbox import waits_release

LEAD_STANDARD_FIELDS = ("first_name", "last_name", "phone", "company", "city", "country")


def _lead_upsert(*, email: str, attributes: dict[str, Any]) -> Lead:
    """Find the lead by email (case-insensitive) or create it; fields sent overwrite, custom
    fields merge. A race on the unique lower(email) index falls back to the winner's row."""
    lead = Lead.objects.select_for_update().filter(email__iexact=email).first()
    if lead is None:
        try:
            with transaction.atomic():
                lead = Lead.objects.create(email=email)
        except IntegrityError:
            lead = Lead.objects.select_for_update().get(email__iexact=email)
    changed = []
    for name in LEAD_STANDARD_FIELDS:
        value = attributes.get(name)
        # Blank means "not known here", never "erase": SDKs often send empty strings.
        if value and value != getattr(lead, name):
            setattr(lead, name, value)
            changed.append(name)
    custom = attributes.get("custom_fields")
    if custom:
        merged = {**(lead.custom_fields or {}), **custom}
        if len(merged) > MAX_CUSTOM_FIELDS:
            raise RegistryError("custom_fields", f"A lead may hold at most {MAX_CUSTOM_FIELDS}.")
        lead.custom_fields = merged
        changed.append("custom_fields")
    if changed:
        lead.save(update_fields=[*changed, "updated_at"])
    return lead


@transaction.atomic
def device_lead_associate(
    *, app_id: int, installation_id: str, email: str, attributes: dict[str, Any]
) -> Device:
    """A shared device follows the last lead that logged in on it."""
    device = device_locked(app_id=app_id, installation_id=installation_id)
    lead = _lead_upsert(email=email, attributes=attributes)
    if device.lead_id != lead.pk:
        device.lead = lead
        device.save(update_fields=["lead", "updated_at"])
    # A first open waiting for whoever logs in (a trigger's "wait for the lead") goes now.
    waits_release(device_id=device.pk, now=timezone.now())
    return device
