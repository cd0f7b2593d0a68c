from __future__ import annotations

from django.urls import path

from devices import api

# The SDK API (under /api/sdk/v1/): what mobile apps call, authenticated per app (HTTP Basic
# key:secret).
urlpatterns = [
    path("devices/register", api.DeviceRegisterApi.as_view(), name="sdk-device-register"),
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
