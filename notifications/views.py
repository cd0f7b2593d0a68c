"""Composer pages: list, create, edit, detail, and the JSON endpoints the page calls.

Thin: parse, call one service or selector, respond. Marketers (and admins) edit; approvers
view and approve. Every page sits behind the Mobile Push add-on."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from devices.lead_fields import lead_token_values
from devices.models import Lead, MobileApp
from notifications import selectors, services
from notifications.forms import NotificationForm, preview_content
from notifications.history import history_lines
from notifications.images import image_absolute_url, image_name_is_stored, image_store
from notifications.locales import locale_normalize
from notifications.models import PushNotification
from notifications.previews import preview_build, preview_locale, rules_help
from notifications.translations import translation_rows_from, translations_preview
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role, user_has_role
from pushmarketing.core.ui import (
    addon_required,
    apply_service_errors,
    role_required,
    service_error_text,
)

PAGE_SIZE = 25
VIEWERS = (Role.MARKETER, Role.APPROVER)
EDITORS = (Role.MARKETER,)


@addon_required
@role_required(*VIEWERS)
@require_GET
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    app_id = request.GET.get("app", "")
    filters: dict[str, Any] = {
        "search": request.GET.get("q", "").strip(),
        "app_id": int(app_id) if app_id.isdigit() else None,
        "status": request.GET.get("status", "")
        if request.GET.get("status", "")
        in (*PushNotification.Status.values, selectors.WAITING_FOR_APPROVAL)
        else "",
        "platform": request.GET.get("platform", "")
        if request.GET.get("platform", "") in ("ios", "android")
        else "",
    }
    page = Paginator(selectors.notification_list(**filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "apps": MobileApp.objects.order_by("name").only("id", "name"),
            "statuses": [
                (selectors.WAITING_FOR_APPROVAL, gettext("Waiting for approval")),
                *PushNotification.Status.choices,
            ],
            "can_edit": user_has_role(request.user, *EDITORS),
        },
    )


def _composer_context(
    request: AuthenticatedHttpRequest, form: NotificationForm, notification: PushNotification | None
) -> dict[str, Any]:
    return {
        "form": form,
        "notification": notification,
        "custom_rows": form.custom_data_rows or [("", "")],
        "token_fields": selectors.lead_token_field_names(),
        "rules_help": rules_help(),
        "image_url": image_absolute_url(form["image_name"].value() or ""),
        "events": history_lines(selectors.notification_events(notification=notification)[:50])
        if notification
        else [],
        "can_approve": notification is not None and user_has_role(request.user, Role.APPROVER),
        "has_apps": notification is not None or MobileApp.objects.exists(),
    }


@addon_required
@role_required(*EDITORS)
def notification_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NotificationForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                notification = services.notification_create(
                    app=form.cleaned_data["app"],
                    actor=request.user,
                    fields=form.service_fields(),
                    translations=form.service_translations(),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("Saved “%(name)s” as a draft.") % {"name": notification.name}
                )
                return redirect("notification-edit", notification_id=notification.pk)
    else:
        form = NotificationForm(initial=_create_initial(request))
    return render(request, "notifications/composer.html", _composer_context(request, form, None))


def _create_initial(request: HttpRequest) -> dict[str, Any]:
    app_id = request.GET.get("app", "")
    first_app = MobileApp.objects.order_by("name").values_list("pk", flat=True).first()
    return {"app": int(app_id) if app_id.isdigit() else first_app}


@addon_required
@role_required(*EDITORS)
def notification_edit(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(
        PushNotification.objects.select_related("app"), pk=notification_id
    )
    if request.method == "POST":
        form = NotificationForm(request.POST, request.FILES, instance=notification)
        if form.is_valid():
            fields = form.service_fields()
            try:
                notification = services.notification_update(
                    notification=notification,
                    actor=request.user,
                    fields=fields,
                    translations=form.service_translations(),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, gettext("Saved."))
                return redirect("notification-edit", notification_id=notification.pk)
    else:
        form = NotificationForm(instance=notification)
    return render(
        request, "notifications/composer.html", _composer_context(request, form, notification)
    )


@addon_required
@role_required(*VIEWERS)
@require_GET
def notification_detail(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(
        PushNotification.objects.select_related("app", "approved_by", "created_by", "updated_by"),
        pk=notification_id,
    )
    form = NotificationForm(instance=notification)
    context = _composer_context(request, form, notification)
    context.update(
        {
            "campaign_names": selectors.notification_campaign_names(notification=notification),
            "can_edit": user_has_role(request.user, *EDITORS),
            "content": services.notification_working_content(notification),
            "ttl_label": _duration(notification.ttl_seconds),
        }
    )
    return render(request, "notifications/detail.html", context)


def _duration(seconds: int) -> str:
    if seconds == 0:
        return gettext("0 s (deliver now or never)")
    # Literal ngettext calls, so makemessages finds each unit's wording.
    if seconds % 86400 == 0:
        count = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
    if seconds % 3600 == 0:
        count = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    if seconds % 60 == 0:
        count = seconds // 60
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    return f"{seconds} s"


@addon_required
@role_required(Role.APPROVER)
@require_POST
def notification_approve(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(PushNotification, pk=notification_id)
    try:
        services.notification_approve(notification=notification, actor=request.user)
    except ValidationError as exc:
        messages.error(request, gettext("Not approved: %(why)s") % {"why": service_error_text(exc)})
    else:
        messages.success(
            request,
            gettext("Approved “%(name)s”. Campaigns can now use it.") % {"name": notification.name},
        )
    return redirect("notification-detail", notification_id=notification.pk)


@addon_required
@role_required(*EDITORS)
@require_POST
def notification_clone(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(PushNotification, pk=notification_id)
    copy = services.notification_clone(notification=notification, actor=request.user)
    messages.success(request, gettext("Created “%(name)s” as a new draft.") % {"name": copy.name})
    return redirect("notification-edit", notification_id=copy.pk)


@addon_required
@role_required(*EDITORS)
@require_POST
def notification_delete(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(PushNotification, pk=notification_id)
    try:
        services.notification_delete(notification=notification, actor=request.user)
    except services.NotificationInUse as exc:
        messages.error(request, str(exc))
        return redirect("notification-detail", notification_id=notification.pk)
    messages.success(request, gettext("Deleted “%(name)s”.") % {"name": notification.name})
    return redirect("notification-list")


@addon_required
@role_required(*VIEWERS)
@require_POST
def notification_preview(request: HttpRequest) -> JsonResponse:
    """Live previews for the current form state (POSTed as the form itself)."""
    notification = None
    notification_id = request.POST.get("notification_id", "")
    if notification_id.isdigit():
        notification = PushNotification.objects.filter(pk=int(notification_id)).first()
    form = NotificationForm(request.POST, instance=notification)
    form.is_valid()
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    image_name = request.POST.get("image_name", "")
    current = notification.image.name if notification and notification.image else ""
    if image_name and image_name != current and not image_name_is_stored(image_name):
        image_name = ""
    content = preview_content(request.POST, image_url=image_absolute_url(image_name))
    app_id = request.POST.get("app", "")
    app = MobileApp.objects.filter(pk=int(app_id)).first() if app_id.isdigit() else None
    if app is None and notification is not None:
        app = notification.app  # the app field is disabled (not posted) on approved pushes
    lead = None
    lead_id = request.POST.get("preview_lead", "")
    if lead_id.isdigit():
        lead = Lead.objects.filter(pk=int(lead_id)).first()
    # The language shown: the one picked above the previews, else the chosen lead's device's.
    device_locale = request.POST.get("preview_locale", "")
    if not device_locale and lead is not None:
        device_locale = selectors.lead_device_locale(lead=lead, app_id=app.pk if app else None)
    language = translations_preview(
        content, translation_rows_from(request.POST), device_locale=device_locale
    )
    result = preview_build(
        language.content,
        app=app,
        values=lead_token_values(lead),
        notification_id=notification.pk if notification else 0,
        known_fields=form.known_fields,
    )
    result["errors"] = errors
    result["preview_as"] = lead.email if lead else ""
    result["language"] = language.describe(device_locale)
    result["audience_locales"] = (
        language.audience(selectors.audience_locales(app_id=app.pk)) if app else []
    )
    # The phones' clock and date follow the previewed device: the language picked above the
    # previews, else the lead's device (found above), else the page's language.
    phone_locale = locale_normalize(device_locale).replace("_", "-")
    result["locale"] = phone_locale or preview_locale(lead=None, app=app)
    return JsonResponse(result)


@addon_required
@role_required(*EDITORS)
@require_POST
def notification_image_upload(request: HttpRequest) -> JsonResponse:
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse(
            {"error": {"field": "image_file", "message": gettext("Choose a file.")}}, status=400
        )
    try:
        name = image_store(data=upload.read())
    except ValidationError as exc:
        return JsonResponse(
            {"error": {"field": "image_file", "message": " ".join(exc.messages)}}, status=400
        )
    return JsonResponse({"name": name, "url": image_absolute_url(name)})


@addon_required
@role_required(*VIEWERS)
@require_GET
def lead_search(request: HttpRequest) -> JsonResponse:
    leads = selectors.leads_search(query=request.GET.get("q", ""))
    return JsonResponse(
        {
            "results": [
                {
                    "id": lead.pk,
                    "email": lead.email,
                    "name": f"{lead.first_name} {lead.last_name}".strip(),
                }
                for lead in leads
            ]
        }
    )
