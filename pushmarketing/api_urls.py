from __future__ import annotations

from django.urls import path

from pushmarketing import api_token_views, management_api

urlpatterns = [
    # Management API (per-user Bearer token).
    path("api/v1/apps", management_api.AppListApi.as_view(), name="api-app-list"),
    path("api/v1/apps/<int:pk>", management_api.AppDetailApi.as_view(), name="api-app-detail"),
    path("api/v1/leads", management_api.LeadListApi.as_view(), name="api-lead-list"),
    path("api/v1/devices", management_api.DeviceListApi.as_view(), name="api-device-list"),
    # The page where users manage the tokens above (HTML, session auth).
    path("settings/api-tokens/", api_token_views.api_token_list, name="api-token-list"),
    path("settings/api-tokens/new", api_token_views.api_token_new, name="api-token-create"),
    path(
        "settings/api-tokens/<int:pk>/revoke",
        api_token_views.api_token_revoke_view,
        name="api-token-revoke",
    ),
]
