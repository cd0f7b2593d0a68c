"""The in-app UI routes (the SDK and management API routes are inapp.sdk_urls / inapp.api)."""

from __future__ import annotations

from django.urls import path

from inapp import campaign_views, dashboard_views, demo_views, views

urlpatterns = [
    path("in-app/", views.message_list, name="inapp-message-list"),
    path("in-app/new/", views.message_create, name="inapp-message-create"),
    path("in-app/<int:message_id>/", views.message_detail, name="inapp-message-detail"),
    path("in-app/<int:message_id>/edit/", views.message_edit, name="inapp-message-edit"),
    path("in-app/<int:message_id>/approve/", views.message_approve, name="inapp-message-approve"),
    path("in-app/<int:message_id>/delete/", views.message_delete, name="inapp-message-delete"),
    path("in-app/preview/", views.message_preview, name="inapp-message-preview"),
    path("in-app/images/", views.message_image_upload, name="inapp-message-image-upload"),
    path("in-app/leads/", views.lead_search, name="inapp-lead-search"),
    path("in-app/campaigns/", campaign_views.campaign_list, name="inapp-campaign-list"),
    path(
        "in-app/campaigns/new/", campaign_views.campaign_create_view, name="inapp-campaign-create"
    ),
    path(
        "in-app/campaigns/audience-count.json",
        campaign_views.audience_count,
        name="inapp-audience-count",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/",
        campaign_views.campaign_detail,
        name="inapp-campaign-detail",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/edit/",
        campaign_views.campaign_edit_view,
        name="inapp-campaign-edit",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/approve/",
        campaign_views.campaign_approve_view,
        name="inapp-campaign-approve",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/pause/",
        campaign_views.campaign_pause_view,
        name="inapp-campaign-pause",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/resume/",
        campaign_views.campaign_resume_view,
        name="inapp-campaign-resume",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/stop/",
        campaign_views.campaign_stop_view,
        name="inapp-campaign-stop",
    ),
    path("in-app/virtual-devices/", demo_views.virtual_devices, name="inapp-virtual-devices"),
    path(
        "in-app/virtual-devices/<int:device_id>/open/",
        demo_views.virtual_device_open,
        name="inapp-virtual-device-open",
    ),
    path(
        "in-app/virtual-devices/<int:device_id>/action/",
        demo_views.virtual_device_action,
        name="inapp-virtual-device-action",
    ),
    path(
        "in-app/virtual-devices/<int:device_id>/event/",
        demo_views.virtual_device_event,
        name="inapp-virtual-device-event",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/dashboard/",
        dashboard_views.campaign_dashboard,
        name="inapp-campaign-dashboard",
    ),
    path(
        "in-app/campaigns/<int:campaign_id>/events.csv",
        dashboard_views.campaign_events_export,
        name="inapp-campaign-export",
    ),
]
