from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pushmarketing.core.addons import mobile_push_enabled


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"addon_enabled": mobile_push_enabled()})
