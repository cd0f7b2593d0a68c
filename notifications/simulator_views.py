"""The virtual device inbox (marketers and admins): what the push simulator's phones received,
shown as a phone would show it. Routed only when the simulator is on.

The page polls `inbox.json` every 2 s, so new pushes appear without a reload. A virtual phone
can report a push *received* or *tapped*: that goes through the same registry service the SDK
API calls (devices.services.activities) for the phone's app and installation, so the run's
Received, Tapped, tap-through rate and tap decay fill in as they would for a real app. The
"app in foreground" switch (kept in the session) shows pushes that arrive while it is on as
the in-app banner the SDK shows instead of a system notification (iOS's foreground case)."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from devices.models import Device, DeviceActivity
from devices.services.activities import PUSH_FEEDBACK_KINDS, device_activities_record
from devices.services.rules import DeviceNotFound, RegistryError
from notifications.simulator import client as sim_client
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required

PUSHES_PER_PHONE = 5
FOREGROUND_SESSION_KEY = "simulator_foreground"
# Per token, at most this many [on, off] intervals are kept in the session.
FOREGROUND_INTERVALS = 20


def _delivery_id(receipt: dict[str, Any]) -> int | None:
    message = receipt.get("message") or {}
    data = message if receipt.get("provider") == "apns" else (message.get("data") or {})
    try:
        value = int(data.get("pm_delivery_id") or 0)
    except (TypeError, ValueError):
        return None
    return value or None


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
        "received_epoch": float(receipt.get("received_at", 0)),
        "delivery_id": _delivery_id(receipt),
    }


def _enabled() -> None:
    if not settings.PUSH_SIMULATOR_ENABLED:
        raise Http404("The push simulator is not enabled.")


def _foreground(request: HttpRequest) -> dict[str, list[list[float | None]]]:
    value = request.session.get(FOREGROUND_SESSION_KEY)
    return value if isinstance(value, dict) else {}


def _in_foreground(intervals: list[list[float | None]], at: float) -> bool:
    return any(on is not None and on <= at and (off is None or at < off) for on, off in intervals)


def _inboxes(request: HttpRequest) -> tuple[list[dict[str, Any]], str]:
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
    foreground = _foreground(request)
    inboxes: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for receipt in receipts:  # newest first
        token = receipt["token"]
        device = devices.get(token)
        intervals = foreground.get(token, [])
        inbox = inboxes.setdefault(
            token,
            {
                "device": device,
                "token": token,
                "token_prefix": token[:8],
                "provider": receipt.get("provider"),
                "foreground": bool(intervals) and intervals[-1][1] is None,
                "pushes": [],
            },
        )
        if len(inbox["pushes"]) < PUSHES_PER_PHONE:
            push = _phone_view(receipt)
            push["in_app"] = _in_foreground(intervals, push["received_epoch"])
            inbox["pushes"].append(push)
    # What each phone already reported (one query over the phones shown).
    wanted = {
        push["delivery_id"]
        for inbox in inboxes.values()
        for push in inbox["pushes"]
        if push["delivery_id"]
    }
    reported: set[tuple[int, int | None, str]] = set()
    if wanted:
        reported = set(
            DeviceActivity.objects.filter(
                device__in=[d for d in devices.values()],
                kind__in=PUSH_FEEDBACK_KINDS,
                delivery_id__in=wanted,
            ).values_list("device_id", "delivery_id", "kind")
        )
    for inbox in inboxes.values():
        device = inbox["device"]
        for push in inbox["pushes"]:
            key = (device.pk if device else 0, push["delivery_id"])
            push["tapped"] = (*key, DeviceActivity.Kind.PUSH_TAPPED) in reported
            push["received"] = push["tapped"] or (
                (*key, DeviceActivity.Kind.PUSH_RECEIVED) in reported
            )
            push["can_report"] = bool(device and push["delivery_id"])
    return list(inboxes.values()), error


def _phones_html(request: HttpRequest) -> tuple[str, str]:
    inboxes, error = _inboxes(request)
    html = render_to_string(
        "notifications/_simulator_phones.html",
        {"inboxes": inboxes, "error": error},
        request=request,
    )
    return html, error


@require_GET
@role_required(Role.MARKETER)
@addon_required
def simulator_inbox(request: HttpRequest) -> HttpResponse:
    _enabled()
    phones_html, error = _phones_html(request)
    return render(
        request, "notifications/simulator_inbox.html", {"phones_html": phones_html, "error": error}
    )


@require_GET
@role_required(Role.MARKETER)
@addon_required
def simulator_inbox_json(request: HttpRequest) -> JsonResponse:
    """Polled by the inbox page: the phones, rendered again."""
    _enabled()
    phones_html, error = _phones_html(request)
    return JsonResponse({"html": phones_html, "error": error})


def _answer(request: HttpRequest, *, ok: bool, message: str, status: int = 200) -> HttpResponse:
    if request.headers.get("Accept") == "application/json":
        phones_html = _phones_html(request)[0] if ok else None
        return JsonResponse({"ok": ok, "message": message, "html": phones_html}, status=status)
    (messages.success if ok else messages.error)(request, message)
    return redirect(reverse("simulator-inbox"))


@require_POST
@role_required(Role.MARKETER)
@addon_required
def simulator_push_feedback(request: HttpRequest) -> HttpResponse:
    """A virtual phone reports a push received or tapped, as the app's SDK would."""
    _enabled()
    kind = {
        "received": DeviceActivity.Kind.PUSH_RECEIVED,
        "tapped": DeviceActivity.Kind.PUSH_TAPPED,
    }.get(request.POST.get("kind", ""))
    token = request.POST.get("token", "")
    try:
        delivery_id = int(request.POST.get("delivery_id", ""))
    except ValueError:
        delivery_id = 0
    if kind is None or not token or delivery_id < 1:
        return _answer(
            request, ok=False, message="Choose a push and received or tapped.", status=400
        )
    device = Device.objects.filter(push_token=token).order_by("-updated_at").first()
    if device is None:
        return _answer(
            request, ok=False, message="No registered device has this token.", status=404
        )
    try:
        device_activities_record(
            app_id=device.app_id,
            installation_id=device.installation_id,
            activities=[{"kind": kind, "delivery_id": delivery_id}],
        )
    except (RegistryError, DeviceNotFound) as exc:
        return _answer(request, ok=False, message=str(exc) or "Not recorded.", status=400)
    verb = "tapped" if kind == DeviceActivity.Kind.PUSH_TAPPED else "received"
    return _answer(request, ok=True, message=f"The phone reported the push {verb}.")


@require_POST
@role_required(Role.MARKETER)
@addon_required
def simulator_foreground(request: HttpRequest) -> HttpResponse:
    """Turn a virtual phone's "app in foreground" on or off (for this browser session)."""
    _enabled()
    token = request.POST.get("token", "")
    on = request.POST.get("foreground") in ("1", "on", "true")
    if not token:
        return _answer(request, ok=False, message="Choose a phone.", status=400)
    foreground = _foreground(request)
    intervals = foreground.get(token, [])
    now = time.time()
    is_on = bool(intervals) and intervals[-1][1] is None
    if on and not is_on:
        intervals.append([now, None])
    elif not on and is_on:
        intervals[-1][1] = now
    foreground[token] = intervals[-FOREGROUND_INTERVALS:]
    request.session[FOREGROUND_SESSION_KEY] = foreground
    state = "in the foreground" if on else "in the background"
    return _answer(request, ok=True, message=f"The app is now {state} on this phone.")
