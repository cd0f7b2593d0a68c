"""In-app campaign pages: list, editor (the campaigns audience builder with a live count),
detail with approve / pause / resume / stop. Thin: parse, call one service, respond."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from campaigns.audience import FILTERS, TEXT_OPS, AudienceError
from campaigns.wording import audience_error_text, audience_sentences
from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import MobileApp
from inapp.campaign_forms import InAppCampaignForm, campaign_initial
from inapp.dashboard import inapp_audience_count
from inapp.models import InAppCampaign, InAppMessage
from inapp.rules import InAppError
from inapp.services.campaigns import (
    TRANSITIONS,
    Action,
    campaign_approve,
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_stop,
    campaign_update,
)
from inapp.views import EDITORS, VIEWERS, inapp_addon_required
from notifications.models import PushNotification
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role, user_has_role
from pushmarketing.core.ui import role_required


def _editor_context(
    form: InAppCampaignForm, campaign: InAppCampaign | None, message: InAppMessage | None
) -> dict[str, Any]:
    return {
        "form": form,
        "campaign": campaign,
        "app": message.app if message else (campaign.app if campaign else None),
        "apps": MobileApp.objects.order_by("name"),
        "editor_config": {
            "filters": {key: {"label": s.label, "kind": s.kind} for key, s in FILTERS.items()},
            "text_ops": list(TEXT_OPS),
            "lead_fields": list(STANDARD_LEAD_FIELDS),
            "pushes": [],
            "apps": list(MobileApp.objects.values("id", "name")),
            # Which app each approved message belongs to: picking one selects its app.
            "message_apps": {
                str(pk): app_id
                for pk, app_id in InAppMessage.objects.filter(
                    approved_content__isnull=False
                ).values_list("pk", "app_id")
            },
        },
    }


@inapp_addon_required
@role_required(*VIEWERS)
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = InAppCampaign.objects.select_related("app", "message").order_by("-created_at")
    return render(
        request,
        "inapp/campaign_list.html",
        {"campaigns": campaigns[:200], "can_edit": user_has_role(request.user, *EDITORS)},
    )


def _apply_error(form: InAppCampaignForm, error: InAppError) -> None:
    field = error.field.split(".")[0].split("[")[0]
    if field == "audience" or field in form.fields:
        label = form.fields[field].label if field in form.fields else _("Audience")
        form.add_error(field if field in form.fields else None, f"{label}: {error.rule}")
    else:
        form.add_error(None, str(error))


@inapp_addon_required
@role_required(*EDITORS)
def campaign_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    message_id = request.POST.get("message") or request.GET.get("message") or ""
    message = (
        InAppMessage.objects.select_related("app").filter(pk=int(message_id)).first()
        if message_id.isdigit()
        else None
    )
    form = InAppCampaignForm(
        request.POST or None,
        initial={
            "message": message.pk if message else None,
            "name": message.name if message else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["message"]
        try:
            campaign = campaign_create(
                app=chosen.app, actor=request.user, fields=form.service_fields()
            )
        except InAppError as exc:
            _apply_error(form, exc)
        else:
            messages.success(
                request,
                _("In-app campaign “%(name)s” created: an approver makes it live.")
                % {"name": campaign.name},
            )
            return redirect("inapp-campaign-detail", campaign_id=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "inapp/campaign_edit.html", _editor_context(form, None, message), status=status
    )


@inapp_addon_required
@role_required(*EDITORS)
def campaign_edit_view(request: AuthenticatedHttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(InAppCampaign.objects.select_related("app"), pk=campaign_id)
    if (campaign.status, Action.EDIT) not in TRANSITIONS:
        messages.error(request, _("A stopped campaign cannot be edited."))
        return redirect("inapp-campaign-detail", campaign_id=campaign.pk)
    form = InAppCampaignForm(
        request.POST or None, initial=campaign_initial(campaign), app_id=campaign.app_id
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(campaign=campaign, actor=request.user, fields=form.service_fields())
        except InAppError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("inapp-campaign-detail", campaign_id=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "inapp/campaign_edit.html", _editor_context(form, campaign, None), status=status
    )


@inapp_addon_required
@role_required(*VIEWERS)
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        InAppCampaign.objects.select_related("app", "message", "approved_by"), pk=campaign_id
    )
    may = {action.value: (campaign.status, action) in TRANSITIONS for action in Action}
    return render(
        request,
        "inapp/campaign_detail.html",
        {
            "campaign": campaign,
            "may": may,
            "can_edit": user_has_role(request.user, *EDITORS),
            "can_approve": user_has_role(request.user, Role.APPROVER),
            "audience_sentences": _audience_sentences(campaign.audience or []),
            "counts": inapp_audience_count(app=campaign.app, rows=campaign.audience or []),
        },
    )


def _audience_sentences(rows: list[dict[str, Any]]) -> list[str]:
    """The filter rows in words, as the push campaign page says them (two small reads)."""
    app_ids = {int(r["value"]) for r in rows if r.get("field") == "app" and r.get("value")}
    push_ids = {int(r["notification_id"]) for r in rows if r.get("notification_id")}
    return audience_sentences(
        rows,
        app_names=dict(MobileApp.objects.filter(pk__in=app_ids).values_list("pk", "name")),
        push_names=dict(PushNotification.objects.filter(pk__in=push_ids).values_list("pk", "name")),
    )


@require_POST
@inapp_addon_required
@role_required(*VIEWERS)
def audience_count(request: HttpRequest) -> JsonResponse:
    """The editor's live count (JSON body {app, audience}); the shape campaigns.js draws."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _count_error("body", "must be a JSON object")
    app = MobileApp.objects.filter(pk=body.get("app") or 0).first()
    if app is None:
        return _count_error("app", "is required: pick a mobile app")
    try:
        return JsonResponse(inapp_audience_count(app=app, rows=body.get("audience") or []))
    except AudienceError as exc:
        return _count_error(exc.field, exc.rule)


def _count_error(field: str, rule: str) -> JsonResponse:
    message = audience_error_text(field, rule)
    return JsonResponse(
        {"error": {"code": "invalid", "message": message, "fields": {field: [rule]}}}, status=400
    )


def _action(
    service: Callable[..., InAppCampaign], done: str, role: str
) -> Callable[[HttpRequest, int], HttpResponse]:
    @require_POST
    @inapp_addon_required
    @role_required(role)
    def view(request: AuthenticatedHttpRequest, campaign_id: int) -> HttpResponse:
        campaign = get_object_or_404(InAppCampaign, pk=campaign_id)
        try:
            service(campaign=campaign, actor=request.user)
        except InAppError as exc:
            messages.error(request, _("Not done: %(why)s.") % {"why": str(exc)})
        else:
            messages.success(request, _(done))
        return redirect("inapp-campaign-detail", campaign_id=campaign.pk)

    return view


campaign_approve_view = _action(
    campaign_approve,
    gettext_noop(
        "Approved: the campaign is live — phones that match see it on their next trigger."
    ),
    Role.APPROVER,
)
campaign_pause_view = _action(
    campaign_pause, gettext_noop("Paused: phones stop seeing this message."), Role.MARKETER
)
campaign_resume_view = _action(
    campaign_resume, gettext_noop("Resumed: the campaign is live again."), Role.MARKETER
)
campaign_stop_view = _action(
    campaign_stop,
    gettext_noop("Stopped for good: this campaign will never show again."),
    Role.MARKETER,
)
