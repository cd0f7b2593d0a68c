from __future__ import annotations

from django.urls import path

from notifications import views

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
]
