"""Leads: the SDK reports who logged in on a device; the device follows that lead.

The rules of a login (`device_lead_associate`), in the order they are checked:

1. Identity: the call names the lead by `external_id`, `email`, or both. The external id is
   looked up first; an e-mail is matched case-insensitively. Both sent: a lead found by the
   external id takes the e-mail (409 if another lead has it), a lead found only by the
   e-mail takes the external id (409 if it already has another one); neither found, one lead
   is created with both.
2. Signature (devices.services.identity): with the app's identity verification on, no valid
   `identity_signature` → 401; a signature sent is checked whatever the setting.
3. SDK-writable fields: a lead field or custom field the app's admin did not mark writable
   → 400 naming it, verified or not.
4. Ownership: the first verified login claims the lead for its app (`verified_by_app`).
   Another app may still associate its devices with that lead, but changing anything on it
   (a field, the e-mail, the external id) needs a call verified for that identity → 403.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from devices.models import LEAD_STANDARD_FIELDS, Device, Lead, MobileApp
from devices.services.identity import identity_verify
from devices.services.locking import device_locked
from devices.services.rules import (
    MAX_CUSTOM_FIELDS,
    IdentityConflict,
    LeadFieldsNotWritable,
    LeadOwnedElsewhere,
    RegistryError,
)
from devices.trigger_outbox import waits_release

NOT_WRITABLE = (
    "Not writable from the SDK: an admin marks SDK-writable fields under Mobile apps → app → "
    "Identity."
)
OWNED_ELSEWHERE = (
    "This lead's identity was verified by another app: its fields can only be changed by a "
    "call with a valid identity_signature for this identity. Send the login without lead "
    "fields to associate the device only."
)


def _writable_check(app: MobileApp, attributes: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {
        name: [NOT_WRITABLE]
        for name in LEAD_STANDARD_FIELDS
        if name in attributes and name not in app.sdk_writable_lead_fields
    }
    for key in attributes.get("custom_fields") or {}:
        if key not in app.sdk_writable_custom_fields:
            errors[f"custom_fields.{key}"] = [NOT_WRITABLE]
    if errors:
        raise LeadFieldsNotWritable(errors)


def _lead_by_identity(*, external_id: str | None, email: str | None) -> Lead | None:
    if external_id:
        lead = Lead.objects.select_for_update().filter(external_id=external_id).first()
        if lead is not None:
            return lead
    if email:
        return Lead.objects.select_for_update().filter(email__iexact=email).first()
    return None


def _lead_locked(*, external_id: str | None, email: str | None) -> tuple[Lead, bool]:
    """The lead the identity names, locked, and whether it was created. A race on a unique
    index (external id, lower(email)) falls back to the winner's row."""
    lead = _lead_by_identity(external_id=external_id, email=email)
    if lead is not None:
        return lead, False
    try:
        with transaction.atomic():
            return Lead.objects.create(email=email or "", external_id=external_id), True
    except IntegrityError:
        lead = _lead_by_identity(external_id=external_id, email=email)
        if lead is None:
            raise
        return lead, False


def _identity_changes(lead: Lead, *, external_id: str | None, email: str | None) -> dict[str, str]:
    changes: dict[str, str] = {}
    if external_id and lead.external_id != external_id:
        if lead.external_id is not None:
            raise IdentityConflict(
                "external_id", "This email belongs to a lead with another external_id."
            )
        changes["external_id"] = external_id
    if email and lead.email.lower() != email.lower():
        if Lead.objects.filter(email__iexact=email).exclude(pk=lead.pk).exists():
            raise IdentityConflict(
                "email", "Another lead has this email; it cannot move to this external_id."
            )
        changes["email"] = email
    return changes


def _field_changes(lead: Lead, attributes: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in LEAD_STANDARD_FIELDS:
        value = attributes.get(name)
        # Blank means "not known here", never "erase": SDKs often send empty strings.
        if value and value != getattr(lead, name):
            changes[name] = value
    custom = attributes.get("custom_fields")
    if custom:
        merged = {**(lead.custom_fields or {}), **custom}
        if merged != lead.custom_fields:
            if len(merged) > MAX_CUSTOM_FIELDS:
                raise RegistryError(
                    "custom_fields", f"A lead may hold at most {MAX_CUSTOM_FIELDS}."
                )
            changes["custom_fields"] = merged
    return changes


@transaction.atomic
def device_lead_associate(
    *,
    app_id: int,
    installation_id: str,
    attributes: dict[str, Any],
    email: str | None = None,
    external_id: str | None = None,
    identity_signature: str | None = None,
) -> Device:
    """A shared device follows the last lead that logged in on it (the rules: module docstring)."""
    if not (email or external_id):
        raise RegistryError("email", "Send external_id, email or both.")
    device = device_locked(app_id=app_id, installation_id=installation_id)
    app = MobileApp.objects.get(pk=app_id)
    verified = identity_verify(
        app=app, external_id=external_id, email=email, signature=identity_signature
    )
    _writable_check(app, attributes)
    lead, created = _lead_locked(external_id=external_id, email=email)
    changes: dict[str, Any] = (
        {} if created else _identity_changes(lead, external_id=external_id, email=email)
    )
    changes.update(_field_changes(lead, attributes))
    owner = lead.verified_by_app_id
    if changes and not verified and owner is not None and owner != app_id:
        raise LeadOwnedElsewhere(OWNED_ELSEWHERE)
    if verified and owner is None:
        changes["verified_by_app_id"] = app_id
    if changes:
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.save(update_fields=[*changes, "updated_at"])
    if device.lead_id != lead.pk:
        device.lead = lead
        device.save(update_fields=["lead", "updated_at"])
    # A first open waiting for whoever logs in (a trigger's "wait for the lead") goes now.
    waits_release(device_id=device.pk, now=timezone.now())
    return device
