"""The SDK's in-app endpoints (/api/sdk/v1/devices/<installation_id>/inapp…): "what should I
show now?" and the events the app reports. Same authentication, throttle and errors as the
rest of the SDK API (devices.api.SdkApi); views parse, call one selector or service, answer.

The answer carries a strong ETag over its content: an app that sends it back in
If-None-Match gets 304 and no body while nothing changed for it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils import timezone
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from devices.api import BODY_ERRORS, ERROR_RESPONSES, INSTALLATION_ID, NOT_FOUND, SDK_TAG, SdkApi
from devices.authentication import sdk_app_cache_evict
from devices.services.rules import StaleCredentials, occurred_at_error
from inapp.models import ACTION_NAME_MAX_LENGTH, InAppCampaign, InAppEvent
from inapp.rules import InAppError
from inapp.selectors.eligibility import Reason, inapp_message_for_device
from inapp.services.events import inapp_event_record
from pushmarketing.core.addons import IN_APP_ADDON_DISABLED_MESSAGE, addon_enabled_cached
from pushmarketing.core.api_errors import error_responses
from pushmarketing.core.api_input import Int64Field, StrictCharField, StrictInput
from pushmarketing.core.models import AddOn

ADDON_OFF = {403: "The In-app messages add-on is off (code addon_disabled)."}


class InAppQuery(serializers.Serializer):
    trigger = serializers.ChoiceField(
        choices=InAppCampaign.Trigger.values,
        help_text="app_open (call on every open; the first open never shows a message) or "
        "custom_action with action_name.",
    )
    action_name = StrictCharField(
        required=False,
        default="",
        max_length=ACTION_NAME_MAX_LENGTH,
        help_text="custom_action: the action's name, as the app reports it (under 20 characters).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["trigger"] == InAppCampaign.Trigger.CUSTOM_ACTION and not attrs["action_name"]:
            raise serializers.ValidationError(
                {"action_name": ["Required with trigger=custom_action."]}
            )
        return attrs


class InAppTapActionOutput(serializers.Serializer):
    action = serializers.CharField(help_text="none | dismiss | deep_link | url")
    uri = serializers.CharField(help_text="deep_link / url: where to go (tokens filled in).")


class InAppButtonOutput(InAppTapActionOutput):
    id = serializers.CharField(help_text="button1 or button2: send it back as a tap's target.")
    # Named like Field.label; DRF's metaclass moves declared fields into `fields`.
    label = serializers.CharField()  # type: ignore[assignment]


class InAppTapActionsOutput(serializers.Serializer):
    text = InAppTapActionOutput()
    image = InAppTapActionOutput()
    background = InAppTapActionOutput()


class InAppColorsOutput(serializers.Serializer):
    background = serializers.CharField()
    text = serializers.CharField()
    button = serializers.CharField()
    button_text = serializers.CharField()


class InAppMessageOutput(serializers.Serializer):
    layout = serializers.CharField(
        help_text="popup_text | popup_image_text | popup_image | fullscreen_text | "
        "fullscreen_image_text | fullscreen_image"
    )
    title = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)
    image_url = serializers.CharField(allow_blank=True)
    close_button = serializers.BooleanField()
    colors = InAppColorsOutput()
    buttons = InAppButtonOutput(many=True)
    tap_actions = InAppTapActionsOutput(help_text="This platform's action for each part.")


class InAppAnswerOutput(serializers.Serializer):
    campaign_id = serializers.IntegerField(
        allow_null=True, help_text="Send it back with each event."
    )
    message_id = serializers.IntegerField(allow_null=True)
    message = InAppMessageOutput(
        allow_null=True, help_text="Rendered for this device's lead and platform; null: none."
    )
    reason = serializers.CharField(
        help_text="Why nothing is shown (for the SDK's debug log): addon_disabled, "
        "never_opened, first_open, nothing_eligible; empty with a message."
    )


class InAppEventInput(StrictInput):
    campaign_id = Int64Field(min_value=1, help_text="From the answer that showed the message.")
    kind = serializers.ChoiceField(choices=InAppEvent.Kind.values)
    target = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=12,
        help_text="tap: what was tapped: button1, button2, text, image or background.",
    )
    occurred_at = serializers.DateTimeField(
        required=False, help_text="Defaults to now; at most 5 minutes in the future."
    )

    def validate_occurred_at(self, value: Any) -> Any:
        error = occurred_at_error(value, now=timezone.now())
        if error:
            raise serializers.ValidationError(error)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == InAppEvent.Kind.TAP and not attrs["target"]:
            raise serializers.ValidationError({"target": ["Required for a tap."]})
        return attrs


class InAppEventOutput(serializers.Serializer):
    event_id = serializers.IntegerField()


def _query(request: Request) -> tuple[str, str]:
    """InAppQuery's rules, checked by hand: building the serializer (its fields are deep-copied
    per instance) was a tenth of this endpoint's CPU."""
    trigger = request.query_params.get("trigger", "")
    action_name = request.query_params.get("action_name", "")
    if trigger not in InAppCampaign.Trigger.values:
        choices = ", ".join(InAppCampaign.Trigger.values)
        raise exceptions.ValidationError({"trigger": [f"Must be one of: {choices}."]})
    if len(action_name) > ACTION_NAME_MAX_LENGTH:
        raise exceptions.ValidationError(
            {"action_name": [f"At most {ACTION_NAME_MAX_LENGTH} characters."]}
        )
    if "\x00" in action_name:
        raise exceptions.ValidationError({"action_name": ["Null characters are not allowed."]})
    if trigger == InAppCampaign.Trigger.CUSTOM_ACTION and not action_name:
        raise exceptions.ValidationError({"action_name": ["Required with trigger=custom_action."]})
    return trigger, action_name


def _etag(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


class InAppSdkApi(SdkApi):
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InAppError):
            exc = exceptions.ValidationError({exc.field: [exc.rule]})
        return super().handle_exception(exc)


class InAppMessageNowApi(InAppSdkApi):
    # The device read re-checks the secret hash (inapp.selectors.eligibility).
    sdk_app_lookup_cacheable = True

    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_inapp_message_retrieve",
        summary="What in-app message should I show now?",
        description="Call on every app open (`trigger=app_open`) and when the user does a "
        "custom action you display messages on (`trigger=custom_action&action_name=…`). "
        "The answer holds at most one message, already filtered by the campaigns' audience, "
        "window, display limit (once per session, until tapped, every time) and priority, and "
        "rendered for the device's lead and platform. A device never opened, the first open "
        "(App Open fires from the second), and an app with the add-on off get "
        "`message: null` and a `reason`. Send the ETag back in If-None-Match: 304 while the "
        "answer is the same. Report what the user saw with the events endpoint.",
        parameters=[
            INSTALLATION_ID,
            InAppQuery,
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="The ETag of the previous answer.",
            ),
        ],
        responses={
            200: OpenApiResponse(InAppAnswerOutput, description="The answer, with an ETag."),
            304: OpenApiResponse(description="Same answer as the ETag in If-None-Match."),
            400: BODY_ERRORS[400],
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    def get(self, request: Request, installation_id: str) -> Response:
        trigger, action_name = _query(request)
        try:
            answer = inapp_message_for_device(
                app_id=self.app.id,
                installation_id=installation_id,
                trigger=trigger,
                action_name=action_name,
                secret_hash=self.app.secret_hash,
            )
        except StaleCredentials as exc:
            sdk_app_cache_evict(self.app.sdk_key)
            raise exceptions.AuthenticationFailed("Invalid SDK key or secret.") from exc
        body = {
            "campaign_id": answer.campaign_id,
            "message_id": answer.message_id,
            "message": answer.message,
            "reason": answer.reason,
        }
        etag = _etag(body)
        wanted = parse_etags(request.headers.get("If-None-Match", ""))
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in wanted or "*" in wanted:
            return Response(status=304, headers=headers)
        return Response(body, headers=headers)


class InAppEventApi(InAppSdkApi):
    @extend_schema(
        tags=SDK_TAG,
        operation_id="sdk_inapp_event_record",
        summary="Report an in-app message shown, tapped or dismissed",
        description="`impression` when the message appears (the display limit counts these), "
        "`tap` with the `target` tapped (button1, button2, text, image, background), "
        "`dismiss` when the user closes it. Each also appears in the lead's activity log.",
        request=InAppEventInput,
        responses={
            201: InAppEventOutput,
            **BODY_ERRORS,
            **ERROR_RESPONSES,
            **NOT_FOUND,
            **error_responses(ADDON_OFF),
        },
        parameters=[INSTALLATION_ID],
        examples=[
            OpenApiExample(
                "Tap on the first button",
                request_only=True,
                value={"campaign_id": 1, "kind": "tap", "target": "button1"},
            )
        ],
    )
    def post(self, request: Request, installation_id: str) -> Response:
        data = self.parsed(InAppEventInput)
        if not addon_enabled_cached(AddOn.Code.IN_APP_MESSAGES):
            raise exceptions.PermissionDenied(
                IN_APP_ADDON_DISABLED_MESSAGE, code=Reason.ADDON_DISABLED
            )
        event = inapp_event_record(
            app_id=self.app.id,
            installation_id=installation_id,
            campaign_id=data["campaign_id"],
            kind=data["kind"],
            target=data["target"],
            occurred_at=data.get("occurred_at"),
        )
        return Response({"event_id": event.pk}, status=201)
