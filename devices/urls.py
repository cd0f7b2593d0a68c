from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("devices.ui_urls")),
    path("", include("devices.push_setup_urls")),
]
