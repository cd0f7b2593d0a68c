from __future__ import annotations

from django.urls import path

from pushmarketing import ops_views

urlpatterns = [
    path("system/health/", ops_views.system_health_view, name="system-health"),
    path("system/token-health/", ops_views.token_health_view, name="token-health"),
]
