"""The product's URLs plus a view that fails, for the 500 page test."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), path("", include("pushmarketing.urls"))]
