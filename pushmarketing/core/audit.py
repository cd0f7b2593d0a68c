from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from pushmarketing.core.models import AuditEntry


def fields_apply(obj: models.Model, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set `values` on `obj` (unsaved) and return what changed, as an audit entry's
    `changes`: {field: [old, new]}."""
    changes = {
        name: [getattr(obj, name), value]
        for name, value in values.items()
        if getattr(obj, name) != value
    }
    for name, value in values.items():
        setattr(obj, name, value)
    return changes


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. `details` must never hold secrets."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor.get_username()
        if actor is not None and actor.is_authenticated
        else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:300],
        details=details or {},
    )
