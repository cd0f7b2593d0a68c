from __future__ import annotations

from django.conf import settings
from django.urls import path

from notifications import sending_views as views

urlpatterns = [
    path(
        "notifications/<int:notification_id>/sample/",
        views.notification_sample,
        name="notification-sample",
    ),
    path(
        "notifications/<int:notification_id>/sample/<int:run_id>/status.json",
        views.notification_sample_status,
        name="notification-sample-status",
    ),
]
if settings.PUSH_SIMULATOR_ENABLED:
    # Only routed (and so only in the sidebar) when the simulator is on; the view checks too.
    urlpatterns.append(path("virtual-devices/", views.simulator_inbox, name="simulator-inbox"))
