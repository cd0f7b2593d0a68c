from __future__ import annotations

from django.urls import path

from pushmarketing.core import api_token_views, ui_views

urlpatterns = [
    path("users/", ui_views.user_list, name="user-list"),
    path("users/<int:user_id>/", ui_views.user_detail, name="user-detail"),
    path("users/<int:user_id>/password/", ui_views.user_password, name="user-password"),
    path("users/<int:user_id>/active/", ui_views.user_set_active, name="user-set-active"),
    path("audit/", ui_views.audit_log, name="audit-log"),
    path("settings/language/", ui_views.language_set, name="language-set"),
    # The page where users manage their management API tokens (HTML, session auth).
    path("settings/api-tokens/", api_token_views.api_token_list, name="api-token-list"),
    path("settings/api-tokens/new", api_token_views.api_token_new, name="api-token-create"),
    path(
        "settings/api-tokens/<int:pk>/revoke",
        api_token_views.api_token_revoke_view,
        name="api-token-revoke",
    ),
]
