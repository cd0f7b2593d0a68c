"""The shell's pages: the overview, and Settings (the add-on switch), which says what turning
the add-on off would stop, so it reads the campaigns' numbers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from campaigns.selectors import campaigns_sending_summary
from pushmarketing.core.addons import addon_set_enabled, addon_status, mobile_push_enabled
from pushmarketing.core.http import AuthenticatedHttpRequest
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import role_required


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"addon_enabled": mobile_push_enabled()})


@role_required(Role.ADMIN)
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        wanted = request.POST.get("enabled")
        if wanted not in ("1", "0"):
            messages.error(request, gettext("enabled must be 1 (on) or 0 (off)."))
        else:
            addon_set_enabled(enabled=wanted == "1", actor=request.user)
            messages.success(
                request,
                gettext("Mobile Push add-on turned on.")
                if wanted == "1"
                else gettext("Mobile Push add-on turned off."),
            )
        return redirect("settings")
    addon = addon_status()
    return render(
        request,
        "pushmarketing/settings.html",
        {
            "addon": addon,
            # Only the "turn off" confirmation needs them (two counts).
            "stopping": campaigns_sending_summary() if addon.enabled else None,
        },
    )
