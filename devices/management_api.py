"""The devices half of the management API (/api/v1/): read access for integrations with a
per-user Bearer token. Admins and marketers read apps, leads and devices; secrets and
credentials never leave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from devices import selectors
from devices.api_serializers import (
    EXTERNAL_ID_PATTERN,
    INSTALLATION_ID_PATTERN,
    CustomFieldsField,
)
from devices.eligibility import NOT_ELIGIBLE_REASONS, device_ineligibility
from devices.management_io import PagedQuery, QueryBooleanField, management_errors
from devices.models import Device, Lead, MobileApp, Platform, PushCredential
from pushmarketing.core.api_errors import error_responses
from pushmarketing.core.api_input import Int64Field, StrictEmailField, StrictRegexField
from pushmarketing.core.management_api import (
    ACCESS_ERRORS,
    INVALID_QUERY,
    MANAGEMENT_TAG,
    PAGE_NOT_FOUND,
    ManagementApi,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from devices.selectors.browse import DeviceWithAppConfigured

    class _SafeCredentials(TypedDict):
        safe_credentials: list[PushCredential]

    # An app from `selectors.apps_list`: its credentials' safe columns prefetched.
    AppWithSafeCredentials = WithAnnotations[MobileApp, _SafeCredentials]


class RegistryApi(ManagementApi):
    """The device registry is readable with the add-on off, as in the UI (its Leads and
    Devices pages say the add-on is off; the SDK keeps registering devices)."""

    behind_addon = False


class PlatformSetupOutput(serializers.Serializer):
    configured = serializers.BooleanField()
    kind = serializers.CharField(allow_null=True)
    verification = serializers.CharField(allow_null=True)
    verification_reason = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    details = serializers.DictField(help_text="Safe metadata: key id, team id, project id…")


class AppOutput(serializers.ModelSerializer):
    platforms = serializers.SerializerMethodField()

    class Meta:
        model = MobileApp
        fields = [
            "id",
            "name",
            "app_type",
            "ios_bundle_id",
            "android_package",
            "sdk_key",
            "created_at",
            "platforms",
        ]

    @extend_schema_field(serializers.DictField(child=PlatformSetupOutput()))
    def get_platforms(self, app: AppWithSafeCredentials) -> dict[str, dict[str, Any]]:
        by_platform = {c.platform: c for c in app.safe_credentials}
        out: dict[str, dict[str, Any]] = {}
        for platform in Platform.values:
            credential = by_platform.get(platform)
            out[platform] = PlatformSetupOutput(
                {
                    "configured": credential is not None,
                    "kind": credential.kind if credential else None,
                    "verification": credential.verification if credential else None,
                    "verification_reason": credential.verification_reason if credential else None,
                    "verified_at": credential.verified_at if credential else None,
                    "details": credential.public_meta if credential else {},
                }
            ).data
        return out


class AppListApi(RegistryApi):
    serializer_class = AppOutput

    def get_queryset(self) -> QuerySet[MobileApp]:
        return selectors.apps_list()

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="apps_list",
        summary="List mobile apps",
        responses={200: AppOutput(many=True), **PAGE_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class AppDetailApi(RegistryApi):
    serializer_class = AppOutput

    def get_queryset(self) -> QuerySet[MobileApp]:
        return selectors.apps_list()

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="apps_retrieve",
        summary="One mobile app",
        responses={200: AppOutput, **error_responses({404: "No such app."}), **ACCESS_ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


class LeadFilter(serializers.Serializer):
    email = serializers.EmailField(required=False, help_text="Exact, case-insensitive.")
    q = serializers.CharField(required=False, max_length=100, help_text="Email contains.")


class LeadOutput(serializers.ModelSerializer):
    device_count = serializers.IntegerField()
    custom_fields = CustomFieldsField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "city",
            "country",
            "custom_fields",
            "device_count",
            "created_at",
            "updated_at",
        ]


class LeadListApi(RegistryApi):
    serializer_class = LeadOutput
    filter_serializer = LeadFilter

    def get_queryset(self) -> QuerySet[Lead]:
        filters = self.filters()
        return selectors.leads_list(email=filters.get("email"), search=filters.get("q"))

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="leads_list",
        summary="Search leads by email",
        parameters=[LeadFilter],
        responses={200: LeadOutput(many=True), **INVALID_QUERY, **PAGE_NOT_FOUND, **ACCESS_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class DeviceFilter(PagedQuery):
    app = Int64Field(required=False, min_value=1, help_text="Only this app's devices.")
    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    status = serializers.ChoiceField(choices=Device.Status.choices, required=False)
    lead = Int64Field(required=False, min_value=1, help_text="Only this lead's devices (id).")
    installation_id = StrictRegexField(
        INSTALLATION_ID_PATTERN,
        required=False,
        max_length=64,
        help_text="The SDK's installation id (one device per app; several apps may share it).",
    )
    eligible = QueryBooleanField(
        required=False,
        help_text="true: only devices a push can be sent to now; false: only those it cannot "
        "(not_eligible_reasons says why).",
    )
    lead_email = StrictEmailField(
        required=False, max_length=254, help_text="The associated lead's e-mail, case-insensitive."
    )
    lead_external_id = StrictRegexField(
        EXTERNAL_ID_PATTERN,
        required=False,
        max_length=255,
        trim_whitespace=False,
        help_text="The associated lead's external id (your user id), exact.",
        error_messages={"invalid": "1-255 characters, no control characters."},
    )


class ReasonOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(NOT_ELIGIBLE_REASONS))
    message = serializers.CharField()


class DeviceListOutput(serializers.ModelSerializer):
    app_name = serializers.CharField(source="app.name")
    lead_email = serializers.SerializerMethodField()
    lead_external_id = serializers.SerializerMethodField()
    push_token_prefix = serializers.CharField(source="token_prefix")
    eligible = serializers.SerializerMethodField()
    not_eligible_reasons = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "app",
            "app_name",
            "platform",
            "installation_id",
            "push_token_prefix",
            "status",
            "status_reason",
            "push_enabled",
            "lead",
            "lead_email",
            "lead_external_id",
            "first_opened_at",
            "last_opened_at",
            "locale",
            "time_zone",
            "app_version",
            "os_version",
            "device_model",
            "is_test_device",
            "test_device_name",
            "eligible",
            "not_eligible_reasons",
        ]

    def _reasons(self, device: DeviceWithAppConfigured) -> list[str]:
        return device_ineligibility(device, app_configured=device.app_configured)

    def get_lead_email(self, device: Device) -> str | None:
        return device.lead.email if device.lead is not None else None

    def get_lead_external_id(self, device: Device) -> str | None:
        return device.lead.external_id if device.lead is not None else None

    # The field is declared because the schema generator cannot resolve the hints of a
    # method whose parameter type exists only for type checkers.
    @extend_schema_field(OpenApiTypes.BOOL)
    def get_eligible(self, device: DeviceWithAppConfigured) -> bool:
        return not self._reasons(device)

    @extend_schema_field(ReasonOutput(many=True))
    def get_not_eligible_reasons(self, device: DeviceWithAppConfigured) -> list[dict[str, str]]:
        return [{"code": c, "message": str(NOT_ELIGIBLE_REASONS[c])} for c in self._reasons(device)]


class DeviceListApi(RegistryApi):
    serializer_class = DeviceListOutput
    filter_serializer = DeviceFilter

    def get_queryset(self) -> QuerySet[Device]:
        filters = self.filters()
        return selectors.devices_list(
            app_id=filters.get("app"),
            platform=filters.get("platform"),
            status=filters.get("status"),
            lead_id=filters.get("lead"),
            installation_id=filters.get("installation_id"),
            eligible=filters.get("eligible"),
            lead_email=filters.get("lead_email"),
            lead_external_id=filters.get("lead_external_id"),
        )

    @extend_schema(
        tags=MANAGEMENT_TAG,
        operation_id="devices_list",
        summary="List devices with eligibility and the reasons a device cannot be sent to",
        parameters=[DeviceFilter],
        responses={
            200: DeviceListOutput(many=True),
            **management_errors(not_found="A page past the last."),
        },
    )
    def get(self, request: Request) -> Response:
        return self.list(request)
