from __future__ import annotations

from django.urls import path

from devices import views

urlpatterns = [
    path("apps/", views.app_list, name="app-list"),
    path("apps/new/", views.app_create_view, name="app-create"),
    path("apps/<int:app_id>/", views.app_detail, name="app-detail"),
    path("apps/<int:app_id>/edit/", views.app_edit, name="app-edit"),
    path(
        "apps/<int:app_id>/rotate-secret/",
        views.app_rotate_secret_view,
        name="app-rotate-secret",
    ),
    path(
        "apps/<int:app_id>/credentials/apns-token/",
        views.app_credential_apns_token,
        name="app-credential-apns-token",
    ),
    path(
        "apps/<int:app_id>/credentials/apns-certificate/",
        views.app_credential_apns_certificate,
        name="app-credential-apns-certificate",
    ),
    path(
        "apps/<int:app_id>/credentials/fcm/",
        views.app_credential_fcm,
        name="app-credential-fcm",
    ),
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("devices/", views.device_list, name="device-list"),
    path("devices/<int:device_id>/", views.device_detail, name="device-detail"),
]
