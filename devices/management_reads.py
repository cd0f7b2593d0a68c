"""The management API's reads of one device and of activities (/api/v1/): a device of an app
by its installation id, and a device's or a lead's activities, newest first, paginated. Part of
the device registry: readable with the add-on off (devices.management_api.RegistryApi)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from devices import selectors
from devices.api_serializers import INSTALLATION_ID_HELP
from devices.management_api import DeviceListOutput, RegistryApi
from devices.management_io import ActivityFilter, management_errors
from devices.models import Device, DeviceActivity, Lead
from devices.services.rules import DeviceNotFound
from pushmarketing.core.api_input import INT64_MAX
from pushmarketing.core.management_api import MANAGEMENT_TAG

NO_DEVICE = "No such app, or no device with this installation id in it."
DEVICE_PATH = [
    OpenApiParameter("app_id", int, OpenApiParameter.PATH, description="The app's id."),
    OpenApiParameter(
        "installation_id", str, OpenApiParameter.PATH, description=INSTALLATION_ID_HELP
    ),
]
LEAD_PATH = [OpenApiParameter("lead_id", int, OpenApiParameter.PATH, description="The lead's id.")]


class ActivityOutput(serializers.ModelSerializer):
    # A plain string, the values in the help text: a `kind` enum here would collide with the
    # SDK input's `kind` (a subset) in the OpenAPI components.
    kind = serializers.CharField(help_text=" | ".join(DeviceActivity.Kind.values))
    installation_id = serializers.CharField(source="device.installation_id")

    class Meta:
        model = DeviceActivity
        fields = [
            "id",
            "kind",
            "occurred_at",
            "app",
            "device",
            "installation_id",
            "lead",
            "action_name",
            "action_type",
            "details",
            "metric",
            "length_seconds",
            "delivery_id",
            "created_at",
        ]
        read_only_fields = fields


def _id_in_range(value: int) -> int:
    # The URL's <int:…> takes any number of digits; no row has an id past a 64-bit column's
    # range, and such a number reaching a query raises OverflowError in the driver.
    if value > INT64_MAX:
        raise exceptions.NotFound()
    return value


def _device(*, app_id: int, installation_id: str) -> Device:
    try:
        return selectors.device_get(app_id=_id_in_range(app_id), installation_id=installation_id)
    except DeviceNotFound:
        raise exceptions.NotFound(NO_DEVICE) from None


class AppDeviceDetailApi(RegistryApi):
    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="apps_devices_retrieve",
        summary="One device of an app, by installation id, with its eligibility",
        parameters=DEVICE_PATH,
        responses={200: DeviceListOutput, **management_errors(not_found=NO_DEVICE, invalid=False)},
    )
    def get(self, request: Request, app_id: int, installation_id: str) -> Response:
        app_id = _id_in_range(app_id)
        device = selectors.devices_list(app_id=app_id, installation_id=installation_id).first()
        if device is None:
            raise exceptions.NotFound(NO_DEVICE)
        return Response(DeviceListOutput(device).data)


class _ActivityListApi(RegistryApi):
    serializer_class = ActivityOutput
    filter_serializer = ActivityFilter

    def activities(
        self, filters: dict[str, Any], *, device_id: int | None = None, lead_id: int | None = None
    ) -> QuerySet[DeviceActivity]:
        return selectors.activities_list(
            device_id=device_id,
            lead_id=lead_id,
            kind=filters.get("kind", ""),
            since=filters.get("since"),
            until=filters.get("until"),
        ).select_related("device")


ACTIVITIES_DESCRIPTION = (
    "Newest first (occurred_at, then id). `since` is included, `until` excluded. A page past "
    "the last answers 404."
)


class DeviceActivityListApi(_ActivityListApi):
    def get_queryset(self) -> QuerySet[DeviceActivity]:
        filters = self.filters()  # a bad parameter is a 400 whether or not the device exists
        device = _device(
            app_id=self.kwargs["app_id"], installation_id=self.kwargs["installation_id"]
        )
        return self.activities(filters, device_id=device.pk)

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="apps_devices_activities_list",
        summary="A device's activities",
        description=ACTIVITIES_DESCRIPTION,
        parameters=[*DEVICE_PATH, ActivityFilter],
        responses={
            200: ActivityOutput(many=True),
            **management_errors(not_found=f"{NO_DEVICE} Or a page past the last."),
        },
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        return self.list(request)


class LeadActivityListApi(_ActivityListApi):
    def get_queryset(self) -> QuerySet[DeviceActivity]:
        filters = self.filters()
        lead = get_object_or_404(Lead.objects.only("id"), pk=_id_in_range(self.kwargs["lead_id"]))
        return self.activities(filters, lead_id=lead.pk)

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="leads_activities_list",
        summary="A lead's activities, on all of its devices",
        description=ACTIVITIES_DESCRIPTION,
        parameters=[*LEAD_PATH, ActivityFilter],
        responses={
            200: ActivityOutput(many=True),
            **management_errors(not_found="No such lead, or a page past the last."),
        },
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        return self.list(request)
