from __future__ import annotations

from django.urls import path

from devices import push_setup_views as views

urlpatterns = [
    path("apps/<int:app_id>/push-setup/", views.app_push_setup, name="app-push-setup"),
    path(
        "apps/<int:app_id>/test-devices/pairings/",
        views.test_device_pairing_create_view,
        name="test-device-pairing-create",
    ),
    path(
        "apps/<int:app_id>/test-devices/pairings/<int:pairing_id>/",
        views.test_device_pairing_view,
        name="test-device-pairing",
    ),
    path(
        "apps/<int:app_id>/test-devices/pairings/<int:pairing_id>/qr.png",
        views.test_device_pairing_qr,
        name="test-device-pairing-qr",
    ),
    path(
        "apps/<int:app_id>/test-devices/mark/",
        views.test_device_mark_view,
        name="test-device-mark",
    ),
    path(
        "apps/<int:app_id>/test-devices/<int:device_id>/unmark/",
        views.test_device_unmark_view,
        name="test-device-unmark",
    ),
    path(
        "apps/<int:app_id>/push/<str:platform>/verify/",
        views.push_credential_verify_view,
        name="push-credential-verify",
    ),
    path(
        "apps/<int:app_id>/push/<str:platform>/status.json",
        views.push_credential_status,
        name="push-credential-status",
    ),
    path("pair/<str:code>", views.pair_landing, name="pair-landing"),
]
