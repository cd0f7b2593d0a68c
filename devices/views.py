"""Admin UI for mobile apps and credentials, and the leads & devices browser. Thin: parse the
form, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from devices import hooks
from devices.credentials import (
    credential_certificate_topic_mismatch,
    credential_upload_apns_certificate,
    credential_upload_apns_token,
    credential_upload_fcm,
)
from devices.forms import (
    ActivityFilterForm,
    ApnsCertificateForm,
    ApnsTokenForm,
    AppEditForm,
    AppForm,
    AppIdentityForm,
    DeviceFilterForm,
    FcmServiceAccountForm,
    LeadFilterForm,
)
from devices.models import Lead, MobileApp, Platform, PushCredential
from devices.selectors import browse
from devices.services.apps import app_create, app_rotate_secret, app_update
from devices.services.identity import app_identity_secret_rotate, app_identity_settings_update
from pushmarketing.core.addons import mobile_push_enabled
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import apply_service_errors, role_required

PAGE_SIZE = 50
ACTIVITY_PAGE_SIZE = 25


def _page(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


# --- apps -----------------------------------------------------------------------------------


@role_required(Role.ADMIN)
def app_list(request: HttpRequest) -> HttpResponse:
    return render(request, "devices/app_list.html", {"rows": browse.app_list_rows()})


def _secret_page(
    request: HttpRequest, app: MobileApp, secret: str, *, created: bool
) -> HttpResponse:
    response = render(
        request, "devices/app_secret.html", {"app": app, "secret": secret, "created": created}
    )
    # The only copy of the secret: keep it out of browser and proxy caches.
    add_never_cache_headers(response)
    return response


@role_required(Role.ADMIN)
def app_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AppForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app, secret = app_create(
                name=data["name"],
                app_type=data["app_type"],
                ios_bundle_id=data["ios_bundle_id"],
                android_package=data["android_package"],
                icon=data["icon"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            # Rendered, not redirected: the secret is never stored anywhere in plain text,
            # so this response is the only place it appears.
            return _secret_page(request, app, secret, created=True)
    status = 400 if form.errors else 200
    return render(request, "devices/app_form.html", {"form": form, "app": None}, status=status)


@role_required(Role.ADMIN)
def app_edit(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    initial = {
        "name": app.name,
        "app_type": app.app_type,
        "ios_bundle_id": app.ios_bundle_id,
        "android_package": app.android_package,
    }
    form = AppEditForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app_update(
                app=app,
                name=data["name"],
                app_type=data["app_type"],
                ios_bundle_id=data["ios_bundle_id"],
                android_package=data["android_package"],
                icon=data["icon"],
                remove_icon=data["remove_icon"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, gettext("%(name)s saved.") % {"name": app.name})
            return redirect("app-detail", app_id=app.pk)
    status = 400 if form.errors else 200
    return render(request, "devices/app_form.html", {"form": form, "app": app}, status=status)


def _app_detail_context(app: MobileApp, **forms_: forms.Form) -> dict[str, Any]:
    credentials = {c.platform: c for c in app.credentials.select_related("uploaded_by")}
    ios = credentials.get(Platform.IOS)
    return {
        "app": app,
        "ios_credential": ios,
        "android_credential": credentials.get(Platform.ANDROID),
        "topic_warning": credential_certificate_topic_mismatch(ios) if ios else "",
        "device_count": app.devices.count(),
        "apns_token_form": forms_.get("apns_token_form") or ApnsTokenForm(),
        "apns_certificate_form": forms_.get("apns_certificate_form") or ApnsCertificateForm(),
        "fcm_form": forms_.get("fcm_form") or FcmServiceAccountForm(),
        "identity_form": forms_.get("identity_form")
        or AppIdentityForm(initial=AppIdentityForm.initial_for(app)),
        "open_form": next(iter(forms_), ""),
    }


@role_required(Role.ADMIN)
def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    return render(request, "devices/app_detail.html", _app_detail_context(app))


@require_POST
@role_required(Role.ADMIN)
def app_rotate_secret_view(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            gettext("Tick “the old secret stops working at once” to confirm the rotation."),
        )
        return redirect("app-detail", app_id=app.pk)
    secret = app_rotate_secret(app=app, actor=request.user)
    return _secret_page(request, app, secret, created=False)


@require_POST
@role_required(Role.ADMIN)
def app_identity_edit(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    form = AppIdentityForm(request.POST)
    if form.is_valid():
        try:
            app_identity_settings_update(
                app=app,
                verification_required=form.cleaned_data["identity_verification_required"],
                writable_fields=form.cleaned_data["sdk_writable_lead_fields"],
                writable_custom_fields=form.custom_field_names(),
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, gettext("Identity settings of %(name)s saved.") % {"name": app.name}
            )
            return redirect("app-detail", app_id=app.pk)
    context = _app_detail_context(app, identity_form=form)
    return render(request, "devices/app_detail.html", context, status=400)


@require_POST
@role_required(Role.ADMIN)
def app_identity_secret_rotate_view(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    if app.identity_secret_encrypted and request.POST.get("confirm") != "yes":
        messages.error(
            request,
            gettext("Tick “signatures made with the old secret fail at once” to confirm."),
        )
        return redirect("app-detail", app_id=app.pk)
    secret = app_identity_secret_rotate(app=app, actor=request.user)
    response = render(request, "devices/app_identity_secret.html", {"app": app, "secret": secret})
    # The only copy shown: keep it out of browser and proxy caches.
    add_never_cache_headers(response)
    return response


def _credential_upload(
    request: HttpRequest,
    app_id: int,
    form_class: type[forms.Form],
    form_key: str,
    # Called with the app and the valid form (of form_class, hence Any).
    upload: Callable[[MobileApp, Any], PushCredential],
) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            credential = upload(app, form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                gettext(
                    "%(kind)s saved (version %(version)s). "
                    "Verify the push configuration to check it with the provider."
                )
                % {"kind": credential.get_kind_display(), "version": credential.version},
            )
            return redirect("app-detail", app_id=app.pk)
    context = _app_detail_context(app, **{form_key: form})
    return render(request, "devices/app_detail.html", context, status=400)


@require_POST
@role_required(Role.ADMIN)
def app_credential_apns_token(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    return _credential_upload(
        request,
        app_id,
        ApnsTokenForm,
        "apns_token_form",
        lambda app, form: credential_upload_apns_token(
            app=app,
            key_pem=form.key_bytes(),
            key_id=form.cleaned_data["key_id"],
            team_id=form.cleaned_data["team_id"],
            actor=request.user,
        ),
    )


@require_POST
@role_required(Role.ADMIN)
def app_credential_apns_certificate(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    return _credential_upload(
        request,
        app_id,
        ApnsCertificateForm,
        "apns_certificate_form",
        lambda app, form: credential_upload_apns_certificate(
            app=app,
            p12_bytes=form.certificate_bytes(),
            password=form.cleaned_data["password"],
            actor=request.user,
        ),
    )


@require_POST
@role_required(Role.ADMIN)
def app_credential_fcm(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    return _credential_upload(
        request,
        app_id,
        FcmServiceAccountForm,
        "fcm_form",
        lambda app, form: credential_upload_fcm(
            app=app, service_account_json=form.service_account_bytes(), actor=request.user
        ),
    )


# --- leads & devices browser ----------------------------------------------------------------


@role_required(Role.MARKETER)
def device_list(request: HttpRequest) -> HttpResponse:
    form = DeviceFilterForm(request.GET or None, app_choices=browse.app_choices())
    filters = browse.DeviceFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = browse.DeviceFilters(
            q=data["q"].strip(),
            app_id=data["app"],
            platform=data["platform"],
            status=data["status"],
            eligible=form.yes_no("eligible"),
            test_device=form.yes_no("test_device"),
        )
    page = _page(request, browse.device_list(filters))
    browse.devices_annotate_eligibility(page.object_list)
    return render(
        request,
        "devices/device_list.html",
        {"form": form, "page": page, "addon_enabled": mobile_push_enabled()},
    )


@role_required(Role.MARKETER)
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    device = get_object_or_404(browse.device_list(browse.DeviceFilters()), pk=device_id)
    activity_form = ActivityFilterForm(request.GET or None)
    activities = _page(
        request,
        browse.activity_list(device_id=device.pk, **activity_form.filters()),
        ACTIVITY_PAGE_SIZE,
    )
    return render(
        request,
        "devices/device_detail.html",
        {
            "device": device,
            "reasons": browse.device_eligibility_reasons(device),
            "activity_form": activity_form,
            "activities": activities,
            "deliveries": hooks.deliveries_recent(device_id=device.pk),
            "addon_enabled": mobile_push_enabled(),
        },
    )


@role_required(Role.MARKETER)
def lead_list(request: HttpRequest) -> HttpResponse:
    form = LeadFilterForm(request.GET or None, app_choices=browse.app_choices())
    q, app_id = "", None
    if form.is_valid():
        q, app_id = form.cleaned_data["q"].strip(), form.cleaned_data["app"]
    page = _page(request, browse.lead_list(q=q, app_id=app_id))
    return render(
        request,
        "devices/lead_list.html",
        {"form": form, "page": page, "addon_enabled": mobile_push_enabled()},
    )


@role_required(Role.MARKETER)
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=lead_id)
    devices = list(browse.device_list(browse.DeviceFilters(lead_id=lead.pk)))
    browse.devices_annotate_eligibility(devices)
    activity_form = ActivityFilterForm(request.GET or None)
    activities = _page(
        request,
        browse.activity_list(lead_id=lead.pk, **activity_form.filters()),
        ACTIVITY_PAGE_SIZE,
    )
    return render(
        request,
        "devices/lead_detail.html",
        {
            "lead": lead,
            "devices": devices,
            "activity_form": activity_form,
            "activities": activities,
            "deliveries": hooks.deliveries_recent(lead_id=lead.pk),
            "addon_enabled": mobile_push_enabled(),
        },
    )
