"""The ceiling for bench/register.py: the least an SDK write can cost in this stack. A bare DRF
view behind the same HTTP Basic scheme (SdkAppAuthentication, with the app lookup cached as on
the register path) that parses the body and inserts one device row, in autocommit: one
statement. No throttle, no validation, no activities. Served only by the bench's URL conf
(bench/ceiling_settings.py); production's URL conf never includes it.

The row is written with one hand-written INSERT, as the register statement is: measured here,
`Device.objects.create()` cost more gunicorn CPU per request (1.9 ms) than a whole
registration (1.6 ms), which would make a "ceiling" below the thing it bounds.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.urls import path
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.api import JsonAnswers, SdkJSONParser
from devices.authentication import SdkApp, SdkAppAuthentication
from devices.models import Device
from pushmarketing.urls import urlpatterns as production_urlpatterns

CEILING_PATH = "api/sdk/v1/bench/ceiling"
INSERT = f"""
INSERT INTO {Device._meta.db_table} (
    app_id, platform, installation_id, push_token, push_enabled, is_test_device,
    test_device_name, locale, time_zone, app_version, os_version, device_model,
    status, status_reason, created_at, updated_at
) VALUES (%s, 'ios', %s, %s, true, false, '', '', '', '', '', '', 'active', '', %s, %s)
"""


class CeilingApi(APIView):
    authentication_classes = [SdkAppAuthentication]
    sdk_app_lookup_cacheable = True
    throttle_classes: list[Any] = []
    parser_classes = [SdkJSONParser]
    content_negotiation_class = JsonAnswers

    def post(self, request: Request) -> Response:
        app = request.auth
        if not isinstance(app, SdkApp):
            raise exceptions.NotAuthenticated("SDK key and secret required (HTTP Basic).")
        data = request.data
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT,
                [app.id, str(data["installation_id"]), str(data.get("push_token") or ""), now, now],
            )
        return Response({"installation_id": data["installation_id"]}, status=201)


urlpatterns = [path(CEILING_PATH, CeilingApi.as_view()), *production_urlpatterns]
