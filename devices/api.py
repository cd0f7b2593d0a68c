"""The SDK API (/api/sdk/v1/): what the mobile app calls. Authenticated per app with HTTP
Basic (SDK key and secret); an app only ever sees its own devices. Views parse, call one
registry service and answer; the rules are in devices.services.rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import api_serializers as io
from devices import selectors
from devices.authentication import SdkApp, SdkAppAuthentication, sdk_app_cache_evict
from devices.models import Device
from devices.services.activities import device_activities_record
from devices.services.leads import device_lead_associate
from devices.services.pairing import device_pair_test
from devices.services.registration import device_register, device_token_refresh
from devices.services.rules import (
    DeviceNotFound,
    IdentityConflict,
    IdentityUnverified,
    LeadFieldsNotWritable,
    LeadOwnedElsewhere,
    RegistryError,
    StaleCredentials,
)
from devices.services.unregister import device_unregister
from devices.throttle import SdkAppThrottle
from pushmarketing.core.api_errors import Conflict, error_responses
from pushmarketing.core.api_parsers import BoundedJSONParser
from pushmarketing.core.api_plain import plain_validated

MAX_SDK_BODY_BYTES = 64 * 1024
SDK_TAG = ["SDK"]
ERROR_RESPONSES = error_responses(
    {
        401: "Missing or wrong SDK key/secret.",
        429: "Too many requests for this app, or too many wrong secrets from this address; "
        "see Retry-After.",
    }
)
BODY_ERRORS = error_responses(
    {
        400: "Invalid input: error.fields names each field and the rule it broke.",
        413: "Body larger than 64 KiB.",
        415: "The body is not application/json.",
    }
)
NOT_FOUND = error_responses({404: "No such installation in this app."})
EXAMPLE_INSTALLATION_ID = "6f1c2b1e-4d1a-4d8c-9a51-2b0a8c3d9e10"
INSTALLATION_ID = OpenApiParameter(
    "installation_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=io.INSTALLATION_ID_PATTERN,
    description=io.INSTALLATION_ID_HELP,
    examples=[OpenApiExample("Registered installation", value=EXAMPLE_INSTALLATION_ID)],
)
# No device can have an id outside the pattern register accepts; such a path is a 404 before
# any query (PostgreSQL refuses a NUL character in a query parameter outright).
_INSTALLATION_ID = re.compile(io.INSTALLATION_ID_PATTERN)
LEAD_RESPONSES = error_responses(
    {
        401: "Missing or wrong SDK key/secret; or, with the app's identity verification on, a "
        "missing identity_signature; or a wrong one (code identity_unverified, the message "
        "names the rule).",
        403: "The lead's identity was verified by another app and this call is not verified "
        "for it: fields not written (code lead_owned_by_another_app).",
        409: "external_id and email name two different leads (code identity_conflict).",
    }
)


class SdkJSONParser(BoundedJSONParser):
    """SDK bodies are tiny (a register call is under 1 KiB), so anything past 64 KiB is a
    bug or abuse."""

    max_bytes = MAX_SDK_BODY_BYTES


class JsonAnswers(DefaultContentNegotiation):
    """The SDK API answers JSON whatever the Accept header asks (SDKs send */* or nothing):
    parsing Accept was a measurable share of a register call. Request bodies are still
    matched against the parsers, so a non-JSON body gets 415."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class SdkApi(APIView):
    authentication_classes = [SdkAppAuthentication]
    throttle_classes = [SdkAppThrottle]
    parser_classes = [SdkJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonAnswers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not isinstance(request.auth, SdkApp):
            raise exceptions.NotAuthenticated("SDK key and secret required (HTTP Basic).")
        installation_id = kwargs.get("installation_id")
        if installation_id is not None and not _INSTALLATION_ID.fullmatch(installation_id):
            raise DeviceNotFound(installation_id)

    def parsed(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        values = plain_validated(serializer_class, self.request.data)
        if values is not None:
            return values
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @property
    def app(self) -> SdkApp:
        auth = self.request.auth
        if not isinstance(auth, SdkApp):  # initial() refused such a request already
            raise exceptions.NotAuthenticated("SDK key and secret required (HTTP Basic).")
        return auth

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DeviceNotFound):
            exc = exceptions.NotFound("No device with this installation id in this app.")
        elif isinstance(exc, RegistryError):
            exc = exceptions.ValidationError({exc.field: [exc.message]})
        elif isinstance(exc, LeadFieldsNotWritable):
            exc = exceptions.ValidationError(exc.fields)
        elif isinstance(exc, IdentityUnverified):
            exc = exceptions.AuthenticationFailed(str(exc), code="identity_unverified")
        elif isinstance(exc, LeadOwnedElsewhere):
            exc = exceptions.PermissionDenied(str(exc), code="lead_owned_by_another_app")
        elif isinstance(exc, IdentityConflict):
            exc = Conflict(exc.message, code="identity_conflict", fields={exc.field: [exc.message]})
        return super().handle_exception(exc)


class DeviceRegisterApi(SdkApi):
    # The register statement re-checks the secret hash, so the app lookup may be cached.
    sdk_app_lookup_cacheable = True

    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_register",
        summary="Register a device (call on every app open)",
        description="Creates the device on its first open (records `installed` + `opened`), "
        "later updates it (records `opened`). A new token records `push_registered`; if "
        "another device of the app held that token it loses it. Safe to repeat.",
        request=io.RegisterInput,
        responses={
            200: io.RegisterOutput,
            201: io.RegisterOutput,
            **BODY_ERRORS,
            **ERROR_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "iOS first open",
                request_only=True,
                value={
                    "installation_id": EXAMPLE_INSTALLATION_ID,
                    "platform": "ios",
                    "push_token": "a" * 64,
                    "push_enabled": True,
                    "locale": "en_US",
                    "time_zone": "America/New_York",
                    "app_version": "3.2.0",
                    "os_version": "18.1",
                    "device_model": "iPhone16,2",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.parsed(io.RegisterInput)
        try:
            result = device_register(
                app_id=self.app.id, secret_hash=self.app.secret_hash, data=data
            )
        except StaleCredentials as exc:
            sdk_app_cache_evict(self.app.sdk_key)
            raise exceptions.AuthenticationFailed("Invalid SDK key or secret.") from exc
        body = {
            "installation_id": result.installation_id,
            "first_open": result.first_open,
            "token_registered": result.token_registered,
            "activity_ids": result.activity_ids,
        }
        return Response(body, status=201 if result.first_open else 200)


def _device_body(device: Device) -> dict[str, Any]:
    return io.DeviceOutput(device).data


class DeviceDetailApi(SdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_retrieve",
        summary="Read this app's device by installation id",
        description="The same body the other device calls answer. Another app's installation "
        "answers 404, as an unknown one does.",
        responses={
            200: io.DeviceOutput,
            401: ERROR_RESPONSES[401],
            429: ERROR_RESPONSES[429],
            **NOT_FOUND,
        },
    )
    def get(self, request: Request, installation_id: str) -> Response:
        device = selectors.device_get(app_id=self.app.id, installation_id=installation_id)
        return Response(_device_body(device))


class DeviceTokenApi(SdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_token_refresh",
        summary="Refresh the push token",
        request=io.TokenInput,
        responses={200: io.DeviceOutput, **BODY_ERRORS, **ERROR_RESPONSES, **NOT_FOUND},
        parameters=[INSTALLATION_ID],
    )
    def post(self, request: Request, installation_id: str) -> Response:
        data = self.parsed(io.TokenInput)
        device = device_token_refresh(
            app_id=self.app.id,
            installation_id=installation_id,
            push_token=data["push_token"],
            push_enabled=data.get("push_enabled"),
        )
        return Response(_device_body(device))


class DeviceLeadApi(SdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_lead_associate",
        summary="Associate the device with a lead (login)",
        description="Finds the lead by external_id, then by email (case-insensitive), or "
        "creates it; writes the SDK-writable fields sent (custom_fields merge). The device "
        "follows the last lead associated. With the app's identity verification on, "
        "identity_signature is required; a lead another app verified can be associated but "
        "its fields changed only by a call verified for the same identity.",
        request=io.LeadInput,
        responses={
            200: io.DeviceOutput,
            **BODY_ERRORS,
            **ERROR_RESPONSES,
            **NOT_FOUND,
            **LEAD_RESPONSES,
        },
        parameters=[INSTALLATION_ID],
        examples=[
            OpenApiExample(
                "Login",
                request_only=True,
                value={
                    "external_id": "user-4821",
                    "email": "jane@example.com",
                    "first_name": "Jane",
                },
            )
        ],
    )
    def post(self, request: Request, installation_id: str) -> Response:
        data = dict(self.parsed(io.LeadInput))
        device = device_lead_associate(
            app_id=self.app.id,
            installation_id=installation_id,
            email=data.pop("email", None),
            external_id=data.pop("external_id", None),
            identity_signature=data.pop("identity_signature", None),
            attributes=data,
        )
        return Response(_device_body(device))


class DeviceUnregisterApi(SdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_unregister",
        summary="Unregister (logout)",
        description="Clears the token, sets push_enabled=false and status unregistered "
        "(reason logout), and detaches the lead: the device is anonymous again, as after its "
        "first open (`lead_email` null). The next register call with a token turns push back "
        "on but never restores the lead; the next `lead` call associates whoever logs in.",
        request=None,
        responses={200: io.DeviceOutput, **ERROR_RESPONSES, **NOT_FOUND},
        parameters=[INSTALLATION_ID],
    )
    def post(self, request: Request, installation_id: str) -> Response:
        device = device_unregister(app_id=self.app.id, installation_id=installation_id)
        return Response(_device_body(device))


class DeviceActivitiesApi(SdkApi):
    # The activities write re-checks the secret hash too (devices.services.activities).
    sdk_app_lookup_cacheable = True

    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_device_activities_record",
        summary="Report activities (one object, a list, or {activities: [...]}, ≤ 100)",
        request=io.ActivitiesInput,
        responses={201: io.ActivitiesOutput, **BODY_ERRORS, **ERROR_RESPONSES, **NOT_FOUND},
        parameters=[INSTALLATION_ID],
        description="`session` needs `length_seconds`, `custom_action` needs `action_name`; "
        "`push_received` and `push_tapped` need the `delivery_id` of a push sent to this "
        "device (it comes in the push payload), else 400. All or nothing.",
        examples=[
            OpenApiExample(
                "Session and custom action",
                request_only=True,
                value={
                    "activities": [
                        {"kind": "session", "length_seconds": 312},
                        {"kind": "custom_action", "action_name": "Added to cart", "metric": 2},
                    ]
                },
            )
        ],
    )
    def post(self, request: Request, installation_id: str) -> Response:
        # Any JSON value parses (the stubs say dict or list); the serializer rejects the rest.
        payload: object = request.data
        if isinstance(payload, list):
            payload = {"activities": payload}
        elif isinstance(payload, dict) and "activities" not in payload:
            payload = {"activities": [payload]}
        serializer = io.ActivitiesInput(data=payload)
        serializer.is_valid(raise_exception=True)
        try:
            ids = device_activities_record(
                app_id=self.app.id,
                installation_id=installation_id,
                activities=[dict(item) for item in serializer.validated_data["activities"]],
                secret_hash=self.app.secret_hash,
            )
        except StaleCredentials as exc:
            sdk_app_cache_evict(self.app.sdk_key)
            raise exceptions.AuthenticationFailed("Invalid SDK key or secret.") from exc
        return Response({"activity_ids": ids}, status=201)


class TestDevicePairApi(SdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_test_device_pair",
        summary="Pair this device as a test device (code from the pairing link / QR code)",
        request=io.PairInput,
        responses={200: io.DeviceOutput, **BODY_ERRORS, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = self.parsed(io.PairInput)
        device = device_pair_test(
            app=self.app, installation_id=data["installation_id"], code=data["code"]
        )
        return Response(_device_body(device))
