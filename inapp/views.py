"""In-app pages: messages (list, composer, detail, approve) and the JSON endpoints the
composer calls. Campaign pages are in inapp.campaign_views, the dashboard in
inapp.dashboard_views, the virtual devices' in-app panel in inapp.demo_views.

Thin: parse, call one service or selector, respond. Marketers (and admins) edit; approvers
view and approve. Every page sits behind the In-app messages add-on, and says so when it is
off (the push add-on's page, with the in-app wording)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from PIL import Image, UnidentifiedImageError

from devices.lead_fields import lead_token_values
from devices.models import Lead, MobileApp
from inapp.forms import (
    InAppMessageForm,
    content_from_fields,
    content_from_post,
    form_initial_from_fields,
)
from inapp.models import InAppMessage
from inapp.previews import preview_build, rules_help
from inapp.rules import InAppError
from inapp.services.messages import MessageInUse
from inapp.services.messages import message_approve as approve_message
from inapp.services.messages import message_create as create_message
from inapp.services.messages import message_delete as delete_message
from inapp.services.messages import message_update as update_message
from notifications.images import image_absolute_url, image_name_is_stored, image_store
from notifications.selectors import lead_token_field_names, leads_search
from pushmarketing.core.addons import in_app_messages_enabled
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role, user_has_role
from pushmarketing.core.ui import role_required

VIEWERS = (Role.MARKETER, Role.APPROVER)
EDITORS = (Role.MARKETER,)
# Marketo's in-app image limits (the push pipeline then strips metadata and re-encodes).
MAX_IMAGE_WIDTH, MAX_IMAGE_HEIGHT = 1440, 2560

View = Callable[..., HttpResponse]


_BUTTON_FIELD = re.compile(r"^buttons\[(\d)\]\.?(.*)$")


def form_field_for(service_field: str) -> str:
    """The composer's field for a service error's dotted name (buttons[0].ios.uri →
    button_1_ios_uri, tap_actions.text.ios.uri → text_ios_uri)."""
    match = _BUTTON_FIELD.match(service_field)
    if match:
        rest = match.group(2).replace(".", "_") or "label"
        return f"button_{int(match.group(1)) + 1}_{rest}"
    if service_field == "buttons":
        return "button_1_label"
    if service_field == "image":
        return "image_file"
    if service_field.startswith("tap_actions."):
        return service_field.removeprefix("tap_actions.").replace(".", "_")
    return service_field


def apply_inapp_error(form: forms.Form, error: InAppError) -> None:
    field = form_field_for(error.field)
    label = form.fields[field].label if field in form.fields else error.field
    form.add_error(field if field in form.fields else None, f"{label}: {error.rule}")


def inapp_addon_required(view: View) -> View:
    """Every in-app page says why it is closed while the add-on is off (403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not in_app_messages_enabled():
            return render(
                request,
                "inapp/addon_disabled.html",
                {"is_admin_user": user_has_role(request.user, Role.ADMIN)},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


@inapp_addon_required
@role_required(*VIEWERS)
@require_GET
def message_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = InAppMessage.objects.select_related("app", "updated_by").order_by("-updated_at")
    return render(
        request,
        "inapp/message_list.html",
        {"messages_list": rows[:200], "can_edit": user_has_role(request.user, *EDITORS)},
    )


def _composer_context(
    request: AuthenticatedHttpRequest, form: InAppMessageForm, message: InAppMessage | None
) -> dict[str, Any]:
    return {
        "form": form,
        "message": message,
        "token_fields": lead_token_field_names(),
        "rules_help": rules_help(),
        "image_url": image_absolute_url(form["image_name"].value() or ""),
        "has_apps": message is not None or MobileApp.objects.exists(),
        "can_approve": message is not None and user_has_role(request.user, Role.APPROVER),
    }


def message_fields(message: InAppMessage) -> dict[str, Any]:
    """A stored message's working copy as the form's field dict."""
    return {
        "name": message.name,
        "layout": message.layout,
        "title": message.title,
        "body": message.body,
        "image": message.image.name if message.image else "",
        "buttons": message.buttons,
        "tap_actions": message.tap_actions,
        "close_button": message.close_button,
        "background_color": message.background_color,
        "text_color": message.text_color,
        "button_color": message.button_color,
        "button_text_color": message.button_text_color,
    }


@inapp_addon_required
@role_required(*EDITORS)
def message_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = InAppMessageForm(request.POST)
        if form.is_valid():
            try:
                message = create_message(
                    app=form.cleaned_data["app"], actor=request.user, fields=form.service_fields()
                )
            except InAppError as exc:
                apply_inapp_error(form, exc)
            else:
                messages.success(
                    request, _("Saved “%(name)s” as a draft.") % {"name": message.name}
                )
                return redirect("inapp-message-edit", message_id=message.pk)
    else:
        first_app = MobileApp.objects.order_by("name").values_list("pk", flat=True).first()
        form = InAppMessageForm(initial={"app": first_app})
    return render(request, "inapp/composer.html", _composer_context(request, form, None))


@inapp_addon_required
@role_required(*EDITORS)
def message_edit(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(InAppMessage.objects.select_related("app"), pk=message_id)
    initial = {**_initial(message), "app": message.app_id}
    if request.method == "POST":
        form = InAppMessageForm(request.POST, initial=initial)
        form.fields["app"].disabled = True  # a message stays with its app
        if form.is_valid():
            try:
                update_message(message=message, actor=request.user, fields=form.service_fields())
            except InAppError as exc:
                apply_inapp_error(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("inapp-message-edit", message_id=message.pk)
    else:
        form = InAppMessageForm(initial=initial)
        form.fields["app"].disabled = True
    return render(request, "inapp/composer.html", _composer_context(request, form, message))


def _initial(message: InAppMessage) -> dict[str, Any]:
    return form_initial_from_fields(message_fields(message))


@inapp_addon_required
@role_required(*VIEWERS)
@require_GET
def message_detail(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(
        InAppMessage.objects.select_related("app", "approved_by", "updated_by"), pk=message_id
    )
    preview = preview_build(
        content_from_fields(message_fields(message)), values={}, app_name=message.app.name
    )
    return render(
        request,
        "inapp/message_detail.html",
        {
            "message": message,
            "preview_html": render_to_string("inapp/_phones.html", {"preview": preview}),
            "campaigns": message.campaigns.order_by("name"),
            "can_edit": user_has_role(request.user, *EDITORS),
            "can_approve": user_has_role(request.user, Role.APPROVER),
        },
    )


@inapp_addon_required
@role_required(Role.APPROVER)
@require_POST
def message_approve(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(InAppMessage, pk=message_id)
    try:
        approve_message(message=message, actor=request.user)
    except InAppError as exc:
        messages.error(request, _("Not approved: %(why)s") % {"why": str(exc)})
    else:
        messages.success(
            request,
            _("Approved “%(name)s”. In-app campaigns can now show it.") % {"name": message.name},
        )
    return redirect("inapp-message-detail", message_id=message.pk)


@inapp_addon_required
@role_required(*EDITORS)
@require_POST
def message_delete(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(InAppMessage, pk=message_id)
    try:
        delete_message(message=message, actor=request.user)
    except MessageInUse as exc:
        messages.error(
            request,
            _("Not deleted: in-app campaigns use it (%(names)s). Stop using it first.")
            % {"names": ", ".join(exc.campaign_names)},
        )
        return redirect("inapp-message-detail", message_id=message.pk)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": message.name})
    return redirect("inapp-message-list")


@inapp_addon_required
@role_required(*VIEWERS)
@require_POST
def message_preview(request: HttpRequest) -> JsonResponse:
    """The phone frames for the current form state (POSTed as the form itself), as HTML."""
    form = InAppMessageForm(request.POST)
    form.is_valid()
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    image_name = request.POST.get("image_name", "")
    if image_name and not image_name_is_stored(image_name):
        image_name = ""
    content = content_from_post(request.POST, image_url=image_absolute_url(image_name))
    app_id = request.POST.get("app", "")
    app = MobileApp.objects.filter(pk=int(app_id)).first() if app_id.isdigit() else None
    lead = None
    lead_id = request.POST.get("preview_lead", "")
    if lead_id.isdigit():
        lead = Lead.objects.filter(pk=int(lead_id)).first()
    preview = preview_build(
        content, values=lead_token_values(lead), app_name=app.name if app else ""
    )
    return JsonResponse(
        {
            "html": render_to_string("inapp/_phones.html", {"preview": preview}),
            "errors": errors,
            "preview_as": lead.email if lead else "",
            "contrast_warnings": preview["contrast_warnings"],
        }
    )


def _image_dimensions_error(data: bytes) -> str:
    """Marketo's in-app limit, checked from the header before the push pipeline decodes."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except (UnidentifiedImageError, OSError):
        return ""  # the pipeline explains what is wrong with the file
    if width > MAX_IMAGE_WIDTH or height > MAX_IMAGE_HEIGHT:
        return _(
            "Image: %(width)s×%(height)s pixels is too large; in-app images may be at most "
            "%(max_width)s×%(max_height)s."
        ) % {
            "width": width,
            "height": height,
            "max_width": MAX_IMAGE_WIDTH,
            "max_height": MAX_IMAGE_HEIGHT,
        }
    return ""


@inapp_addon_required
@role_required(*EDITORS)
@require_POST
def message_image_upload(request: HttpRequest) -> JsonResponse:
    upload = request.FILES.get("image")
    if upload is None:
        return _image_error(_("Image: choose a file."))
    data = upload.read()
    problem = _image_dimensions_error(data)
    if problem:
        return _image_error(problem)
    try:
        name = image_store(data=data)
    except ValidationError as exc:
        return _image_error(_("Image: %(why)s") % {"why": " ".join(exc.messages)})
    return JsonResponse({"name": name, "url": image_absolute_url(name)})


def _image_error(message: str) -> JsonResponse:
    return JsonResponse({"error": {"field": "image_file", "message": message}}, status=400)


@inapp_addon_required
@role_required(*VIEWERS)
@require_GET
def lead_search(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "results": [
                {"id": lead.pk, "email": lead.email}
                for lead in leads_search(query=request.GET.get("q", ""))
            ]
        }
    )
