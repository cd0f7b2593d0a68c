from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("campaigns.ui_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("campaigns.report_urls")),
]
