"""The virtual device inbox (marketers and admins): what the push simulator's phones received,
shown as a phone would show it. Routed only when the simulator is on."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from devices.models import Device
from notifications.simulator import client as sim_client
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required


def _phone_view(receipt: dict[str, Any]) -> dict[str, Any]:
    """A receipt as the phone would show it: title, body, image, when."""
    message = receipt.get("message") or {}
    if receipt.get("provider") == "apns":
        alert = (message.get("aps") or {}).get("alert") or {}
        if isinstance(alert, str):
            alert = {"body": alert}
        title, subtitle, body = (
            alert.get("title", ""),
            alert.get("subtitle", ""),
            alert.get("body", ""),
        )
        image = message.get("pm_image_url", "")
    else:
        shown = message.get("notification") or {}
        title, subtitle, body = shown.get("title", ""), "", shown.get("body", "")
        image = shown.get("image", "") or (message.get("data") or {}).get("pm_image_url", "")
    received = datetime.fromtimestamp(float(receipt.get("received_at", 0)), tz=UTC)
    return {
        "title": title,
        "subtitle": subtitle,
        "body": body,
        "image": image,
        "received_at": received,
    }


@require_GET
@role_required(Role.MARKETER)
@addon_required
def simulator_inbox(request: HttpRequest) -> HttpResponse:
    if not settings.PUSH_SIMULATOR_ENABLED:
        raise Http404("The push simulator is not enabled.")
    error = ""
    try:
        receipts = sim_client.receipts(limit=200)
    except sim_client.SimulatorError as exc:
        receipts, error = [], str(exc)
    tokens = {r["token"] for r in receipts}
    devices = {
        d.push_token: d
        for d in Device.objects.filter(push_token__in=tokens).select_related("app", "lead")
    }
    inboxes: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for receipt in receipts:  # newest first
        token = receipt["token"]
        device = devices.get(token)
        inbox = inboxes.setdefault(
            token,
            {
                "device": device,
                "token_prefix": token[:8],
                "provider": receipt.get("provider"),
                "pushes": [],
            },
        )
        if len(inbox["pushes"]) < 5:
            inbox["pushes"].append(_phone_view(receipt))
    return render(
        request,
        "notifications/simulator_inbox.html",
        {"inboxes": list(inboxes.values()), "error": error},
    )
