from __future__ import annotations

from django.urls import include, path

from devices import api, management_api, management_reads, views
from devices.push_setup import views as push_setup

# The SDK API (under /api/sdk/v1/): what mobile apps call, authenticated per app (HTTP Basic
# key:secret). First: it takes most of the traffic.
sdk_urlpatterns = [
    path("devices/register", api.DeviceRegisterApi.as_view(), name="sdk-device-register"),
    # After `devices/register`: an installation id "register" cannot be read by GET.
    path("devices/<str:installation_id>", api.DeviceDetailApi.as_view(), name="sdk-device"),
    path(
        "devices/<str:installation_id>/token",
        api.DeviceTokenApi.as_view(),
        name="sdk-device-token",
    ),
    path(
        "devices/<str:installation_id>/lead",
        api.DeviceLeadApi.as_view(),
        name="sdk-device-lead",
    ),
    path(
        "devices/<str:installation_id>/unregister",
        api.DeviceUnregisterApi.as_view(),
        name="sdk-device-unregister",
    ),
    path(
        "devices/<str:installation_id>/activities",
        api.DeviceActivitiesApi.as_view(),
        name="sdk-device-activities",
    ),
    path("test-devices/pair", api.TestDevicePairApi.as_view(), name="sdk-test-device-pair"),
]

urlpatterns = [
    path("api/sdk/v1/", include(sdk_urlpatterns)),
    # Management API (per-user Bearer token).
    path("api/v1/apps", management_api.AppListApi.as_view(), name="api-app-list"),
    path("api/v1/apps/<int:pk>", management_api.AppDetailApi.as_view(), name="api-app-detail"),
    path("api/v1/leads", management_api.LeadListApi.as_view(), name="api-lead-list"),
    path("api/v1/devices", management_api.DeviceListApi.as_view(), name="api-device-list"),
    path(
        "api/v1/apps/<int:app_id>/devices/<str:installation_id>",
        management_reads.AppDeviceDetailApi.as_view(),
        name="api-app-device-detail",
    ),
    path(
        "api/v1/apps/<int:app_id>/devices/<str:installation_id>/activities",
        management_reads.DeviceActivityListApi.as_view(),
        name="api-device-activity-list",
    ),
    path(
        "api/v1/leads/<int:lead_id>/activities",
        management_reads.LeadActivityListApi.as_view(),
        name="api-lead-activity-list",
    ),
    path("apps/", views.app_list, name="app-list"),
    path("apps/new/", views.app_create_view, name="app-create"),
    path("apps/<int:app_id>/", views.app_detail, name="app-detail"),
    path("apps/<int:app_id>/edit/", views.app_edit, name="app-edit"),
    path(
        "apps/<int:app_id>/rotate-secret/",
        views.app_rotate_secret_view,
        name="app-rotate-secret",
    ),
    path("apps/<int:app_id>/identity/", views.app_identity_edit, name="app-identity"),
    path(
        "apps/<int:app_id>/identity/rotate-secret/",
        views.app_identity_secret_rotate_view,
        name="app-identity-rotate-secret",
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
    path("apps/<int:app_id>/push-setup/", push_setup.app_push_setup, name="app-push-setup"),
    path(
        "apps/<int:app_id>/test-devices/pairings/",
        push_setup.test_device_pairing_create_view,
        name="test-device-pairing-create",
    ),
    path(
        "apps/<int:app_id>/test-devices/pairings/<int:pairing_id>/",
        push_setup.test_device_pairing_view,
        name="test-device-pairing",
    ),
    path(
        "apps/<int:app_id>/test-devices/pairings/<int:pairing_id>/qr.png",
        push_setup.test_device_pairing_qr,
        name="test-device-pairing-qr",
    ),
    path(
        "apps/<int:app_id>/test-devices/mark/",
        push_setup.test_device_mark_view,
        name="test-device-mark",
    ),
    path(
        "apps/<int:app_id>/test-devices/<int:device_id>/unmark/",
        push_setup.test_device_unmark_view,
        name="test-device-unmark",
    ),
    path("pair/<str:code>", push_setup.pair_landing, name="pair-landing"),
]
