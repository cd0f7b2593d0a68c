"""Lets `devices/_app_push_setup.html` load its own data, so the app page (another area)
only has to `{% include %}` it with `app` in the context."""

from __future__ import annotations

from typing import Any

from django import template

from devices.models import Device, MobileApp, Platform, PushCredential
from devices.push_setup.pending import verification_pending
from devices.services.test_devices import pairings_open, test_devices_of

register = template.Library()

CANDIDATES_SHOWN = 100


@register.simple_tag
def push_setup_panel(app: MobileApp) -> dict[str, Any]:
    credentials = {c.platform: c for c in PushCredential.objects.filter(app=app)}
    platforms = []
    for value, label in Platform.choices:
        credential = credentials.get(value)
        platforms.append(
            {
                "value": value,
                "label": label,
                "credential": credential,
                "pending": bool(credential and verification_pending(credential)),
            }
        )
    candidates = (
        Device.objects.filter(app=app, is_test_device=False, status=Device.Status.ACTIVE)
        .select_related("lead")
        .order_by("-last_opened_at", "-id")[:CANDIDATES_SHOWN]
    )
    return {
        "platforms": platforms,
        "test_devices": list(test_devices_of(app.pk)),
        "pairings": list(pairings_open(app)),
        "candidates": list(candidates),
    }
