from __future__ import annotations

from django.urls import path

from campaigns import views

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
]
