from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from pushmarketing import metrics_endpoint, ops_views, views


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon
    (resolved per request: with the manifest storage its URL carries the file's hash)."""
    response = HttpResponseRedirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    # First: the SDK API (devices.urls starts with it) takes most of the traffic, and a request
    # is matched against the patterns in order.
    path("", include("devices.urls")),
    path("", include("inapp.sdk_urls")),
    path("favicon.ico", favicon, name="favicon"),
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="auth/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings"),
    # The scripts' words in the page's language (the djangojs catalogue).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("pushmarketing.core.urls")),
    path("system/health/", ops_views.system_health_view, name="system-health"),
    path("system/token-health/", ops_views.token_health_view, name="token-health"),
    path("metrics", metrics_endpoint.metrics_view, name="metrics"),
    path("", include("notifications.urls")),
    path("", include("campaigns.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Push images must be fetchable by devices, so media is served by the app itself.
    path(
        f"{settings.MEDIA_URL.strip('/')}/<path:path>",
        serve,
        {"document_root": settings.MEDIA_ROOT},
    ),
]
