from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("notifications.ui_urls")),
    path("", include("notifications.sending_urls")),
]
