from __future__ import annotations

from django.urls import path

from campaigns import report_views as views

urlpatterns = [
    path("campaigns/runs/<int:run_id>/dashboard/", views.run_dashboard, name="run-dashboard"),
    path("campaigns/runs/<int:run_id>/progress.json", views.run_progress, name="run-progress"),
    path("campaigns/runs/<int:run_id>/deliveries.csv", views.run_export, name="run-export"),
    path(
        "campaigns/<int:campaign_id>/dashboard/",
        views.campaign_dashboard,
        name="campaign-dashboard",
    ),
    path(
        "campaigns/<int:campaign_id>/summary.csv",
        views.campaign_summary_export,
        name="campaign-summary-export",
    ),
    path(
        "notifications/<int:notification_id>/dashboard/",
        views.notification_dashboard,
        name="notification-dashboard",
    ),
]
