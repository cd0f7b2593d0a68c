from __future__ import annotations

from django.conf import settings
from django.urls import path

from notifications import api, simulator_views, verification_views, views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/new/", views.notification_create, name="notification-create"),
    path(
        "notifications/<int:notification_id>/",
        views.notification_detail,
        name="notification-detail",
    ),
    path(
        "notifications/<int:notification_id>/edit/",
        views.notification_edit,
        name="notification-edit",
    ),
    path(
        "notifications/<int:notification_id>/approve/",
        views.notification_approve,
        name="notification-approve",
    ),
    path(
        "notifications/<int:notification_id>/clone/",
        views.notification_clone,
        name="notification-clone",
    ),
    path(
        "notifications/<int:notification_id>/delete/",
        views.notification_delete,
        name="notification-delete",
    ),
    path("notifications/preview/", views.notification_preview, name="notification-preview"),
    path(
        "notifications/images/", views.notification_image_upload, name="notification-image-upload"
    ),
    path("notifications/leads/", views.lead_search, name="notification-lead-search"),
    path(
        "api/v1/notifications/<int:notification_id>",
        api.NotificationDetailApi.as_view(),
        name="api-notification-detail",
    ),
    path(
        "api/v1/notifications/<int:notification_id>/translations/<str:locale>",
        api.TranslationDetailApi.as_view(),
        name="api-notification-translation",
    ),
    path(
        "api/v1/notifications/<int:notification_id>/translations/<str:locale>/image",
        api.TranslationImageApi.as_view(),
        name="api-notification-translation-image",
    ),
    # On the app's push set-up panel (devices), checked with the provider by notifications.
    path(
        "apps/<int:app_id>/push/<str:platform>/verify/",
        verification_views.push_credential_verify_view,
        name="push-credential-verify",
    ),
    path(
        "apps/<int:app_id>/push/<str:platform>/status.json",
        verification_views.push_credential_status,
        name="push-credential-status",
    ),
]
if settings.PUSH_SIMULATOR_ENABLED:
    # Only routed (and so only in the sidebar) when the simulator is on; the view checks too.
    urlpatterns += [
        path("virtual-devices/", simulator_views.simulator_inbox, name="simulator-inbox"),
        path(
            "virtual-devices/inbox.json",
            simulator_views.simulator_inbox_json,
            name="simulator-inbox-json",
        ),
        path(
            "virtual-devices/feedback/",
            simulator_views.simulator_push_feedback,
            name="simulator-push-feedback",
        ),
        path(
            "virtual-devices/foreground/",
            simulator_views.simulator_foreground,
            name="simulator-foreground",
        ),
    ]
