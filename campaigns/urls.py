from __future__ import annotations

from django.urls import path

from campaigns import api, sample_views, views
from campaigns.reports import views as report_views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/audience-count.json", views.audience_count, name="campaign-audience-count"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path(
        "campaigns/<int:campaign_id>/progress.json",
        views.campaign_progress,
        name="campaign-progress",
    ),
    path("campaigns/<int:campaign_id>/start/", views.campaign_start, name="campaign-start"),
    path(
        "campaigns/<int:campaign_id>/send-again/",
        views.campaign_send_again,
        name="campaign-send-again",
    ),
    path("campaigns/<int:campaign_id>/pause/", views.campaign_pause, name="campaign-pause"),
    path("campaigns/<int:campaign_id>/resume/", views.campaign_resume, name="campaign-resume"),
    path("campaigns/<int:campaign_id>/cancel/", views.campaign_cancel, name="campaign-cancel"),
    path(
        "campaigns/<int:campaign_id>/deactivate/",
        views.campaign_deactivate,
        name="campaign-deactivate",
    ),
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
    path(
        "campaigns/runs/<int:run_id>/dashboard/", report_views.run_dashboard, name="run-dashboard"
    ),
    path(
        "campaigns/runs/<int:run_id>/progress.json", report_views.run_progress, name="run-progress"
    ),
    path("campaigns/runs/<int:run_id>/deliveries.csv", report_views.run_export, name="run-export"),
    path(
        "campaigns/<int:campaign_id>/dashboard/",
        report_views.campaign_dashboard,
        name="campaign-dashboard",
    ),
    path(
        "campaigns/<int:campaign_id>/summary.csv",
        report_views.campaign_summary_export,
        name="campaign-summary-export",
    ),
    path(
        "notifications/<int:notification_id>/dashboard/",
        report_views.notification_dashboard,
        name="notification-dashboard",
    ),
    # Sample send lives under the push's URL.
    path(
        "notifications/<int:notification_id>/sample/",
        sample_views.notification_sample,
        name="notification-sample",
    ),
    path(
        "notifications/<int:notification_id>/sample/<int:run_id>/status.json",
        sample_views.notification_sample_status,
        name="notification-sample-status",
    ),
]
