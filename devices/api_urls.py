from __future__ import annotations

from django.urls import path

from devices import api

# The SDK API: what mobile apps call, authenticated per app (HTTP Basic key:secret).
urlpatterns = [
    path(
        "api/sdk/v1/devices/register", api.DeviceRegisterApi.as_view(), name="sdk-device-register"
    ),
    path(
        "api/sdk/v1/devices/<str:installation_id>/token",
        api.DeviceTokenApi.as_view(),
        name="sdk-device-token",
    ),
    path(
        "api/sdk/v1/devices/<str:installation_id>/lead",
        api.DeviceLeadApi.as_view(),
        name="sdk-device-lead",
    ),
    path(
        "api/sdk/v1/devices/<str:installation_id>/unregister",
        api.DeviceUnregisterApi.as_view(),
        name="sdk-device-unregister",
    ),
    path(
        "api/sdk/v1/devices/<str:installation_id>/activities",
        api.DeviceActivitiesApi.as_view(),
        name="sdk-device-activities",
    ),
    path(
        "api/sdk/v1/test-devices/pair", api.TestDevicePairApi.as_view(), name="sdk-test-device-pair"
    ),
]
