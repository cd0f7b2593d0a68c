from __future__ import annotations

from django.urls import path

from campaigns import api

urlpatterns = [
    path("api/v1/campaigns", api.CampaignListApi.as_view(), name="api-campaign-list"),
    path(
        "api/v1/campaigns/<int:campaign_id>",
        api.CampaignDetailApi.as_view(),
        name="api-campaign-detail",
    ),
    path(
        "api/v1/campaigns/<int:campaign_id>/trigger",
        api.CampaignTriggerApi.as_view(),
        name="api-campaign-trigger",
    ),
    path(
        "api/v1/campaigns/<int:campaign_id>/runs/<int:run_id>",
        api.CampaignRunDetailApi.as_view(),
        name="api-campaign-run",
    ),
]
