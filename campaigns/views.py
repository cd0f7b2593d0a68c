"""Campaign pages. Thin: parse, call one service or selector, render. Marketers and admins
edit and start; approvers read. Every page sits behind the add-on gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.audience import FILTERS, TEXT_OPS
from campaigns.forms import CampaignForm, form_initial
from campaigns.lifecycle import Action, campaign_may
from campaigns.models import Campaign
from campaigns.qualification import RuleError
from campaigns.reports.variants import campaign_comparison
from campaigns.rules import (
    TRIGGER_EVENTS,
    trigger_send_within_minutes,
    trigger_wait_for_lead_minutes,
)
from campaigns.wording import (
    ab_send_note,
    audience_error_text,
    schedule_sentence,
    trigger_sentence,
)
from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import MobileApp
from notifications.models import PushNotification
from pushmarketing.core.display import moment_text
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required

READERS = (Role.MARKETER, Role.APPROVER)
PROGRESS_ROWS = (
    # Rows queued when the audience was resolved: the run's plan, not what is still waiting.
    ("queued", _("Planned to send")),
    ("pending", _("Still to send")),
    ("sent", _("Sent")),
    ("failed", _("Failed")),
    ("token_invalid", _("Token invalid")),
    ("skipped", _("Skipped")),
    ("tapped", _("Tapped")),
)
EDITORS = (Role.MARKETER,)
# The audience editor's comparison words (static/js/campaigns.js shows them in the op select).
TEXT_OP_LABELS = {
    "equals": _("equals"),
    "contains": _("contains"),
    "starts_with": _("starts with"),
    "is_empty": _("is empty"),
}


def _editor_context(form: CampaignForm, kind: str, campaign: Campaign | None) -> dict[str, Any]:
    pushes = PushNotification.objects.filter(approved_content__isnull=False).values(
        "id", "name", "app_id"
    )
    return {
        "form": form,
        "kind": kind,
        "campaign": campaign,
        "editor_config": {
            "filters": {key: {"label": s.label, "kind": s.kind} for key, s in FILTERS.items()},
            "text_ops": list(TEXT_OPS),
            "text_op_labels": TEXT_OP_LABELS,
            "lead_fields": list(STANDARD_LEAD_FIELDS),
            "pushes": list(pushes),
            "apps": list(MobileApp.objects.values("id", "name")),
        },
        "trigger_events": TRIGGER_EVENTS,
    }


@addon_required
@role_required(*READERS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaigns_for_list()
    status = request.GET.get("status", "")
    if status in Campaign.Status.values:
        campaigns = campaigns.filter(status=status)
    return render(
        request,
        "campaigns/list.html",
        {"campaigns": campaigns[:200], "status": status, "statuses": Campaign.Status.choices},
    )


def _save(
    request: AuthenticatedHttpRequest, *, kind: str, campaign: Campaign | None
) -> HttpResponse:
    form = CampaignForm(
        request.POST or None,
        kind=kind,
        initial=form_initial(campaign) if campaign else {"app": request.GET.get("app")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            if campaign is None:
                campaign = services.campaign_create(
                    actor=request.user,
                    app=form.cleaned_data["app"],
                    kind=kind,
                    data=form.service_data(),
                )
                messages.success(
                    request, gettext("Campaign “%(name)s” created.") % {"name": campaign.name}
                )
            else:
                services.campaign_update(
                    actor=request.user, campaign=campaign, data=form.service_data()
                )
                messages.success(request, gettext("Campaign saved."))
            return redirect("campaign-detail", campaign_id=campaign.pk)
        except RuleError as error:
            form.add_rule_errors(error)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "campaigns/edit.html", _editor_context(form, kind, campaign), status=status
    )


@addon_required
@role_required(*EDITORS)
def campaign_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", Campaign.Kind.BATCH)
    if kind not in Campaign.Kind.values:
        raise Http404("Unknown campaign kind")
    return _save(request, kind=kind, campaign=None)


@addon_required
@role_required(*EDITORS)
def campaign_edit(request: AuthenticatedHttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not campaign_may(campaign.status, Action.EDIT):
        messages.error(request, gettext("Pause or deactivate the campaign before editing it."))
        return redirect("campaign-detail", campaign_id=campaign.pk)
    return _save(request, kind=campaign.kind, campaign=campaign)


@addon_required
@role_required(*READERS)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.campaigns_for_list(), pk=campaign_id)
    progress = selectors.campaign_progress(campaign)
    table = [
        {"name": name, "label": label, **progress["totals"][name]} for name, label in PROGRESS_ROWS
    ]
    may = {action.value: campaign_may(campaign.status, action) for action in Action}
    variants = list(campaign.variants.select_related("notification"))
    sends_now = campaign.kind == Campaign.Kind.BATCH and (
        (may["start"] and campaign.schedule_kind == Campaign.ScheduleKind.NOW) or may["send_again"]
    )
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "audience_sentences": selectors.campaign_audience_sentences(campaign),
            # The confirmation says how many devices a send reaches: counted only when the
            # page offers a send now (two aggregate queries).
            "reach": selectors.campaign_audience_numbers(campaign) if sends_now else None,
            "progress": progress,
            "progress_table": table,
            "runs": selectors.campaign_runs(campaign),
            "trigger_label": TRIGGER_EVENTS.get((campaign.trigger or {}).get("event", ""), ""),
            "send_within_minutes": trigger_send_within_minutes(campaign.trigger or {}),
            "wait_for_lead_minutes": trigger_wait_for_lead_minutes(campaign.trigger or {}),
            "trigger_constraints": trigger_sentence(
                campaign.trigger or {}, push_name=selectors.campaign_trigger_push_name(campaign)
            ),
            "schedule_text": schedule_sentence(
                campaign.schedule_kind, campaign.schedule_spec or {}
            ),
            "editable": campaign_may(campaign.status, Action.EDIT),
            "may": may,
            "variants": variants,
            "ab_send_note": ab_send_note(
                control_percent=sum(v.share_percent for v in variants if v.is_control),
                winner_mode=campaign.ab_winner_mode,
                test_percent=campaign.ab_test_percent,
            ),
            "ab_steps": selectors.campaign_ab_steps(campaign),
            "comparison": campaign_comparison(campaign),
        },
    )


@require_GET
@addon_required
@role_required(*READERS)
def campaign_progress(request: HttpRequest, campaign_id: int) -> JsonResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return JsonResponse(selectors.campaign_progress(campaign))


@require_POST
@addon_required
@role_required(*READERS)
def audience_count(request: HttpRequest) -> JsonResponse:
    """Live audience numbers for the editor (JSON body {app, notification, audience})."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _json_error("body", "must be JSON")
    app_id = body.get("app") if isinstance(body, dict) else None
    app = MobileApp.objects.filter(pk=app_id).first() if app_id is not None else None
    if app is None:
        return _json_error("app", "is required: pick a mobile app")
    notification = PushNotification.objects.filter(
        pk=body.get("notification") or 0, app=app
    ).first()
    try:
        counts = selectors.audience_count(
            app=app, rows=body.get("audience") or [], notification=notification
        )
    except RuleError as error:
        return _json_error(error.field, error.rule)
    return JsonResponse(counts)


def _json_error(field: str, rule: str) -> JsonResponse:
    message = audience_error_text(field, rule)
    return JsonResponse(
        {"error": {"code": "invalid", "message": message, "fields": {field: [rule]}}},
        status=400,
    )


def _action(
    service: Callable[..., Campaign], done: Promise | Callable[[Campaign], str]
) -> Callable[[HttpRequest, int], HttpResponse]:
    @require_POST
    @addon_required
    @role_required(*EDITORS)
    def view(request: AuthenticatedHttpRequest, campaign_id: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        try:
            campaign = service(actor=request.user, campaign=campaign)
            messages.success(request, done(campaign) if callable(done) else str(done))
        except RuleError as error:
            messages.error(request, f"{error.rule[0].upper()}{error.rule[1:]}.")
        return redirect("campaign-detail", campaign_id=campaign.pk)

    return view


def _started(campaign: Campaign) -> str:
    if campaign.status == Campaign.Status.SCHEDULED and campaign.next_run_at:
        return gettext("Campaign scheduled for %(moment)s.") % {
            "moment": moment_text(campaign.next_run_at)
        }
    if campaign.status == Campaign.Status.ACTIVE:
        return gettext("Trigger campaign activated: it is listening.")
    return gettext("Campaign started: its audience is being resolved.")


campaign_start = _action(services.campaign_start, _started)
campaign_send_again = _action(
    services.campaign_send_again, _("Campaign sent again: a new run is resolving its audience.")
)
campaign_pause = _action(services.campaign_pause, _("Campaign paused: nothing more is sent."))
campaign_resume = _action(services.campaign_resume, _("Campaign resumed."))
campaign_cancel = _action(services.campaign_cancel, _("Campaign cancelled."))
campaign_deactivate = _action(services.campaign_deactivate, _("Trigger campaign deactivated."))
