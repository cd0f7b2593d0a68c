"""The Mobile Push add-on entitlement: read fresh from the database wherever it matters
(the UI gate, the management API and the worker at send time)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import AddOn, AuditEntry

ADDON_DISABLED_MESSAGE = "The Mobile Push add-on is not enabled — ask an admin to enable it."


def mobile_push_enabled() -> bool:
    return AddOn.objects.filter(code=AddOn.Code.MOBILE_PUSH, enabled=True).exists()


@dataclass(frozen=True)
class AddOnStatus:
    enabled: bool
    changed_at: dt.datetime | None
    # Who turned it on or off: a username, "the demo seed", or "" when never changed.
    changed_by: str


@transaction.atomic
def addon_set_enabled(*, enabled: bool, actor: User | None, source: str = "") -> AddOn:
    """Turn the add-on on or off. `source` names who did it when no user did (a command:
    "the demo seed"); it is kept in the audit entry, which Settings reads back."""
    addon, _ = AddOn.objects.select_for_update().get_or_create(code=AddOn.Code.MOBILE_PUSH)
    if addon.enabled != enabled:
        addon.enabled = enabled
        addon.changed_by = actor
        addon.changed_at = timezone.now()
        addon.save(update_fields=["enabled", "changed_by", "changed_at"])
        by = f" by {source}" if source and actor is None else ""
        audit_record(
            actor=actor,
            action="addon.enabled" if enabled else "addon.disabled",
            target=addon,
            summary=f"Mobile Push add-on turned {'on' if enabled else 'off'}{by}",
            details={"source": source} if source else None,
        )
    return addon


def addon_status() -> AddOnStatus:
    """The add-on's switch and who last moved it (two queries)."""
    addon = AddOn.objects.select_related("changed_by").filter(code=AddOn.Code.MOBILE_PUSH).first()
    if addon is None:
        return AddOnStatus(enabled=False, changed_at=None, changed_by="")
    if addon.changed_by is not None:
        return AddOnStatus(addon.enabled, addon.changed_at, addon.changed_by.get_username())
    last = (
        AuditEntry.objects.filter(
            target_type=addon._meta.label_lower,
            target_id=str(addon.pk),
            action__in=("addon.enabled", "addon.disabled"),
        )
        .values_list("details", flat=True)
        .first()
    )
    source = (last or {}).get("source", "")
    if not source and addon.changed_at is not None:
        source = "a deleted user"
    return AddOnStatus(addon.enabled, addon.changed_at, source)
