"""Sample send: a marketer sends a push to chosen test devices or a lead's devices, then
watches the sample run's status (under the push's URL, /notifications/<id>/sample/).

Thin views: parse → one service → respond."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.delivery.sample import sample_send, sample_status
from campaigns.models import CampaignRun
from devices.models import Lead
from notifications.models import PushNotification
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required


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
