"""The Mobile Push add-on entitlement: read fresh from the database wherever it matters
(the UI gate, the management API and the worker at send time)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from pushmarketing.core.audit import audit_record
from pushmarketing.core.models import AddOn

ADDON_DISABLED_MESSAGE = "The Mobile Push add-on is not enabled — ask an admin to enable it."


def mobile_push_enabled() -> bool:
    return AddOn.objects.filter(code=AddOn.Code.MOBILE_PUSH, enabled=True).exists()


@transaction.atomic
def addon_set_enabled(*, enabled: bool, actor: User) -> AddOn:
    addon, _ = AddOn.objects.select_for_update().get_or_create(code=AddOn.Code.MOBILE_PUSH)
    if addon.enabled != enabled:
        addon.enabled = enabled
        addon.changed_by = actor
        addon.changed_at = timezone.now()
        addon.save(update_fields=["enabled", "changed_by", "changed_at"])
        audit_record(
            actor=actor,
            action="addon.enabled" if enabled else "addon.disabled",
            target=addon,
            summary=f"Mobile Push add-on turned {'on' if enabled else 'off'}",
        )
    return addon
