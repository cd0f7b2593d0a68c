"""Sample send and the virtual device inbox (marketers and admins).

Thin views: parse → one service → respond."""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.delivery.sample import sample_send, sample_status
from campaigns.models import CampaignRun
from devices.models import Device, Lead
from notifications.models import PushNotification
from pushmarketing.roles import Role
from pushmarketing.ui import addon_required, role_required

logger = logging.getLogger(__name__)


def _sample_context(
    notification: PushNotification, *, run: CampaignRun | None, errors: dict, form: dict
) -> dict[str, Any]:
    return {
        "notification": notification,
        "sample_run": run,
        "sample_status": sample_status(run=run) if run else None,
        "errors": errors,
        "form": form,
    }


@require_http_methods(["GET", "POST"])
@role_required(Role.MARKETER)
@addon_required
def notification_sample(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(
        PushNotification.objects.select_related("app"), pk=notification_id
    )
    if request.method == "GET":
        run = None
        if request.GET.get("run", "").isdigit():
            run = CampaignRun.objects.filter(
                pk=int(request.GET["run"]),
                notification=notification,
                kind=CampaignRun.Kind.SAMPLE,
            ).first()
        return render(
            request,
            "notifications/sample_send.html",
            _sample_context(notification, run=run, errors={}, form={}),
        )
    form = {
        "device_ids": request.POST.getlist("device_ids"),
        "lead_email": request.POST.get("lead_email", "").strip(),
    }
    errors: dict[str, list[str]] = {}
    device_ids = [int(v) for v in form["device_ids"] if v.isdigit()]
    if len(device_ids) != len(form["device_ids"]):
        errors["device_ids"] = ["Device ids must be numbers."]
    lead = None
    if form["lead_email"]:
        lead = Lead.objects.filter(email__iexact=form["lead_email"]).first()
        if lead is None:
            errors["lead_email"] = [f"No lead with the email {form['lead_email']}."]
    if not errors:
        try:
            run = sample_send(
                notification=notification, device_ids=device_ids, lead=lead, actor=request.user
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect(
                f"{reverse('notification-sample', args=[notification.pk])}?run={run.pk}"
            )
    return render(
        request,
        "notifications/sample_send.html",
        _sample_context(notification, run=None, errors=errors, form=form),
        status=400,
    )


@require_GET
@role_required(Role.MARKETER)
def notification_sample_status(
    request: HttpRequest, notification_id: int, run_id: int
) -> JsonResponse:
    run = get_object_or_404(
        CampaignRun, pk=run_id, notification_id=notification_id, kind=CampaignRun.Kind.SAMPLE
    )
    return JsonResponse(sample_status(run=run))


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
    from notifications.simulator import client as sim_client

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
