"""Verify push configuration, on the app's push set-up panel (admins): the button enqueues the
check (notifications.verification) and the panel polls the status.

Thin views: parse → one service → respond. Provider calls never happen in a request."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from devices.models import MobileApp, Platform, PushCredential
from devices.push_setup.pending import verification_pending
from notifications.verification import push_credential_verify_request
from pushmarketing.core.display import moment_text
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import addon_required, role_required


def _back(app: MobileApp, request: HttpRequest) -> HttpResponse:
    # Back to the page the form was on (the app page, or the standalone set-up page).
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("app-push-setup", app_id=app.pk)


def _platform_or_404(platform: str) -> str:
    if platform not in Platform.values:
        raise Http404("unknown platform")
    return platform


@require_POST
@role_required(Role.ADMIN)
@addon_required
def push_credential_verify_view(request: HttpRequest, app_id: int, platform: str) -> HttpResponse:
    app = get_object_or_404(MobileApp, pk=app_id)
    try:
        push_credential_verify_request(
            app=app, platform=_platform_or_404(platform), actor=request.user
        )
    except PushCredential.DoesNotExist:
        messages.error(
            request,
            gettext("Upload %(platform)s credentials first.")
            % {"platform": Platform(platform).label},
        )
    else:
        messages.info(
            request,
            gettext("Checking %(platform)s credentials with the provider…")
            % {"platform": Platform(platform).label},
        )
    return _back(app, request)


@require_GET
@role_required(Role.ADMIN)
def push_credential_status(request: HttpRequest, app_id: int, platform: str) -> JsonResponse:
    credential = get_object_or_404(
        PushCredential, app_id=app_id, platform=_platform_or_404(platform)
    )
    return JsonResponse(
        {
            "platform": credential.platform,
            "pending": verification_pending(credential),
            "verification": credential.verification,
            "label": credential.get_verification_display(),
            "reason": credential.verification_reason,
            "verified_at": credential.verified_at.isoformat() if credential.verified_at else None,
            # As the page prints it (pushmarketing.core.display): the row reads the same
            # before and after a reload, not in the browser's own date format.
            "verified_at_text": moment_text(credential.verified_at)
            if credential.verified_at
            else "",
        }
    )
