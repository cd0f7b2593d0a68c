from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from devices.token_health import token_health
from pushmarketing.core.charts import sparkline_svg
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import role_required
from pushmarketing.health import system_health


@role_required(Role.ADMIN)
def system_health_view(request: HttpRequest) -> HttpResponse:
    return render(request, "pushmarketing/system_health.html", system_health())


@role_required(Role.ADMIN)
def token_health_view(request: HttpRequest) -> HttpResponse:
    rows = token_health()
    label = gettext("devices that went inactive per day")
    for row in rows:
        row["trend_svg"] = sparkline_svg(row["trend"], label=label)
    return render(request, "pushmarketing/token_health.html", {"rows": rows})
