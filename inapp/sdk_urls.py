"""The in-app add-on's API routes: the SDK's (under /api/sdk/v1/) and the management API's
(under /api/v1/inapp/). The UI's routes are in inapp.urls."""

from __future__ import annotations

from django.urls import include, path

from inapp import api, management_api

sdk_urlpatterns = [
    path(
        "devices/<str:installation_id>/inapp",
        api.InAppMessageNowApi.as_view(),
        name="sdk-inapp-message",
    ),
    path(
        "devices/<str:installation_id>/inapp/events",
        api.InAppEventApi.as_view(),
        name="sdk-inapp-events",
    ),
]

management_urlpatterns = [
    path("messages", management_api.MessageListApi.as_view(), name="api-inapp-message-list"),
    path(
        "messages/<int:inapp_message_id>",
        management_api.MessageDetailApi.as_view(),
        name="api-inapp-message-detail",
    ),
    path(
        "messages/<int:inapp_message_id>/approve",
        management_api.MessageApproveApi.as_view(),
        name="api-inapp-message-approve",
    ),
    path("campaigns", management_api.CampaignListApi.as_view(), name="api-inapp-campaign-list"),
    path(
        "campaigns/<int:inapp_campaign_id>",
        management_api.CampaignDetailApi.as_view(),
        name="api-inapp-campaign-detail",
    ),
    path(
        "campaigns/<int:inapp_campaign_id>/status",
        management_api.CampaignStatusApi.as_view(),
        name="api-inapp-campaign-status",
    ),
]

urlpatterns = [
    path("api/sdk/v1/", include(sdk_urlpatterns)),
    path("api/v1/inapp/", include(management_urlpatterns)),
]
