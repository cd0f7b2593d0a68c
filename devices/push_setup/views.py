"""Push set-up on the app page (admins): test devices. (Verify push configuration, on the
same panel, is notifications.verification_views.)

Thin views: parse → one service → respond. Provider calls never happen in a request."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from devices.models import MobileApp, TestDevicePairing
from devices.services.test_devices import (
    pairing_qr_png,
    pairing_url,
    test_device_mark,
    test_device_pairing_create,
    test_device_unmark,
)
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required, service_error_text


def _back(app: MobileApp, request: HttpRequest) -> HttpResponse:
    # Back to the page the form was on (the app page, or the standalone set-up page).
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("app-push-setup", app_id=app.pk)


@require_GET
@role_required(Role.ADMIN)
@addon_required
def app_push_setup(request: HttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    return render(request, "devices/test_devices.html", {"app": app})


@require_POST
@role_required(Role.ADMIN)
@addon_required
def test_device_pairing_create_view(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    try:
        pairing = test_device_pairing_create(
            app=app, name=request.POST.get("name", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
        return _back(app, request)
    return redirect("test-device-pairing", app_id=app.pk, pairing_id=pairing.pk)


@require_GET
@role_required(Role.ADMIN)
@addon_required
def test_device_pairing_view(request: HttpRequest, app_id: int, pairing_id: int) -> HttpResponse:
    pairing = get_object_or_404(TestDevicePairing, pk=pairing_id, app_id=app_id)
    return render(
        request,
        "devices/test_device_pairing.html",
        {"app": pairing.app, "pairing": pairing, "pairing_url": pairing_url(pairing)},
    )


@require_GET
@role_required(Role.ADMIN)
@addon_required
def test_device_pairing_qr(request: HttpRequest, app_id: int, pairing_id: int) -> HttpResponse:
    pairing = get_object_or_404(TestDevicePairing, pk=pairing_id, app_id=app_id)
    response = HttpResponse(pairing_qr_png(pairing), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_POST
@role_required(Role.ADMIN)
@addon_required
def test_device_mark_view(request: AuthenticatedHttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    try:
        device_id = int(request.POST.get("device_id", ""))
    except ValueError:
        messages.error(request, gettext("Pick a registered device (device id must be a number)."))
        return _back(app, request)
    try:
        device = test_device_mark(
            app=app, device_id=device_id, name=request.POST.get("name", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(
            request,
            gettext("“%(name)s” is now a test device.") % {"name": device.test_device_name},
        )
    return _back(app, request)


@require_POST
@role_required(Role.ADMIN)
@addon_required
def test_device_unmark_view(
    request: AuthenticatedHttpRequest, app_id: int, device_id: int
) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    try:
        test_device_unmark(app=app, device_id=device_id, actor=request.user)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(request, gettext("The device is no longer a test device."))
    return _back(app, request)


def pair_landing(request: HttpRequest, code: str) -> HttpResponse:
    """What a phone's browser shows if the pairing link opens outside the app: public, no
    login, reveals nothing but the pairing's name and app (the code is the secret)."""
    pairing = TestDevicePairing.objects.select_related("app").filter(code=code).first()
    return render(request, "devices/test_device_pair_landing.html", {"pairing": pairing})
