"""Input/output shapes of the SDK API. They check form (types, lengths, formats); the rules
themselves live in devices.services.rules so every interface applies the same ones."""

from __future__ import annotations

import copy
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import DeviceActivity, Platform
from devices.services import rules
from pushmarketing.core.api_input import (
    BoundedListSerializer,
    Int64Field,
    StrictCharField,
    StrictEmailField,
    StrictInput,
    StrictRegexField,
)

INSTALLATION_ID_HELP = (
    "The SDK's stable id for this installation of the app: 1-64 of A-Z a-z 0-9 . _ : - "
    "(a UUID fits). It is part of the other endpoints' URLs."
)
INSTALLATION_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
# Any printable text: the newline joins it to the e-mail in the signed identity message.
EXTERNAL_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"


def installation_id_field() -> StrictRegexField:
    return StrictRegexField(
        INSTALLATION_ID_PATTERN,
        max_length=64,
        help_text=INSTALLATION_ID_HELP,
        error_messages={"invalid": "Use 1-64 of the characters A-Z a-z 0-9 . _ : -"},
    )


# An input of plain fields, built once per SDK call. DRF deep-copies every declared field for
# each serializer instance so that one instance may change its fields; ours never do, and a
# shallow copy per field (which bind() then names and parents) cost a third as much on the
# register path. A field holding other fields would share them across calls, so none may be
# declared. A comment, not a docstring: the schema would publish it as the body's description.
class FlatInput(StrictInput):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        nested = [name for name, f in cls._declared_fields.items() if hasattr(f, "child")]
        if nested:
            raise TypeError(f"{cls.__name__}: FlatInput cannot hold nested fields {nested}")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(f) for name, f in self._declared_fields.items()}


def _check(error: str | None) -> None:
    if error:
        raise serializers.ValidationError(error)


CUSTOM_FIELD_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": rules.MAX_CUSTOM_FIELD_VALUE_LENGTH},
        {"type": "number"},
        {"type": "boolean"},
    ],
    "nullable": True,
}


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": rules.MAX_CUSTOM_FIELDS,
        "additionalProperties": CUSTOM_FIELD_VALUE_SCHEMA,
    }
)
class CustomFieldsField(serializers.JSONField):
    """A lead's custom fields: an object of name → string, number, boolean or null (the rules
    are rules.custom_fields_error)."""


class RegisterInput(FlatInput):
    installation_id = installation_id_field()
    platform = serializers.ChoiceField(choices=Platform.choices)
    push_token = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=4096,
        help_text="APNs device token (hex) or FCM registration token. Omit to keep the stored one.",
    )
    push_enabled = serializers.BooleanField(default=True)
    locale = StrictCharField(required=False, allow_blank=True, max_length=35)
    time_zone = StrictCharField(
        required=False, allow_blank=True, max_length=64, help_text="IANA name, e.g. Europe/Paris"
    )
    app_version = StrictCharField(required=False, allow_blank=True, max_length=40)
    os_version = StrictCharField(required=False, allow_blank=True, max_length=40)
    device_model = StrictCharField(required=False, allow_blank=True, max_length=80)

    def validate_locale(self, value: str) -> str:
        _check(rules.locale_error(value))
        return value

    def validate_time_zone(self, value: str) -> str:
        _check(rules.time_zone_error(value))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token = attrs.get("push_token") or ""
        error = token and rules.push_token_error(platform=attrs["platform"], token=token)
        if error:
            raise serializers.ValidationError({"push_token": [error]})
        return attrs


class RegisterOutput(serializers.Serializer):
    installation_id = serializers.CharField()
    first_open = serializers.BooleanField(help_text="True on the installation's first open.")
    token_registered = serializers.BooleanField(help_text="True when a new token was stored.")
    activity_ids = serializers.ListField(child=serializers.IntegerField())


class TokenInput(FlatInput):
    push_token = StrictCharField(max_length=4096)
    push_enabled = serializers.BooleanField(required=False)


class LeadInput(FlatInput):
    external_id = StrictRegexField(
        EXTERNAL_ID_PATTERN,
        required=False,
        max_length=255,
        trim_whitespace=False,
        help_text="Your user id for this person (unique across apps). Send it, email, or both.",
        error_messages={"invalid": "1-255 characters, no control characters."},
    )
    email = StrictEmailField(required=False, max_length=254)
    identity_signature = StrictRegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        help_text="Hex HMAC-SHA256 of the identity, made by your backend with the app's "
        "identity secret: of external_id, or of email when no external_id is sent, or of "
        "external_id + newline + email when both are sent. Required when the app's identity "
        "verification is on.",
        error_messages={"invalid": "Must be 64 hex characters (HMAC-SHA256)."},
    )
    first_name = StrictCharField(required=False, allow_blank=True, max_length=100)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=100)
    phone = StrictCharField(required=False, allow_blank=True, max_length=40)
    company = StrictCharField(required=False, allow_blank=True, max_length=150)
    city = StrictCharField(required=False, allow_blank=True, max_length=100)
    country = StrictCharField(required=False, allow_blank=True, max_length=100)
    custom_fields = CustomFieldsField(
        required=False,
        help_text=f"Merged into the lead's custom fields (only the names an admin marked "
        f"SDK-writable): up to {rules.MAX_CUSTOM_FIELDS} "
        f"names of 1-{rules.MAX_CUSTOM_FIELD_KEY_LENGTH} characters, each a string of at most "
        f"{rules.MAX_CUSTOM_FIELD_VALUE_LENGTH} characters, a number (integers within 64 bits), "
        "a boolean or null.",
    )

    def validate_custom_fields(self, value: Any) -> Any:
        _check(rules.custom_fields_error(value))
        return value

    def validate_external_id(self, value: str) -> str:
        # The pattern's `$` lets one trailing newline through (Python's rule).
        _check("1-255 characters, no control characters." if "\n" in value else None)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("email") or attrs.get("external_id")):
            message = ["Send external_id, email or both."]
            raise serializers.ValidationError({"external_id": message, "email": message})
        return attrs


class DeviceOutput(serializers.Serializer):
    installation_id = serializers.CharField()
    platform = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    push_enabled = serializers.BooleanField()
    has_push_token = serializers.SerializerMethodField()
    lead_email = serializers.SerializerMethodField()
    lead_external_id = serializers.SerializerMethodField()
    is_test_device = serializers.BooleanField()
    test_device_name = serializers.CharField()

    def get_has_push_token(self, device: Any) -> bool:
        return bool(device.push_token)

    def get_lead_email(self, device: Any) -> str | None:
        return (device.lead.email or None) if device.lead_id else None

    def get_lead_external_id(self, device: Any) -> str | None:
        return device.lead.external_id if device.lead_id else None


ACTIVITY_KINDS = [
    DeviceActivity.Kind.OPENED,
    DeviceActivity.Kind.SESSION,
    DeviceActivity.Kind.CUSTOM_ACTION,
    DeviceActivity.Kind.PUSH_RECEIVED,
    DeviceActivity.Kind.PUSH_TAPPED,
]


class ActivityInput(StrictInput):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in ACTIVITY_KINDS])
    occurred_at = serializers.DateTimeField(
        required=False, help_text="Defaults to now; at most 5 minutes in the future."
    )
    action_name = StrictCharField(
        required=False,
        max_length=rules.MAX_ACTION_NAME_LENGTH,
        help_text="custom_action: under 20 characters (Marketo's rule).",
    )
    action_type = StrictCharField(required=False, allow_blank=True, max_length=60)
    details = StrictCharField(required=False, allow_blank=True, max_length=255)
    metric = serializers.FloatField(required=False, allow_null=True)
    length_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=7 * 86400
    )
    delivery_id = Int64Field(
        required=False, min_value=1, help_text="push_received / push_tapped: the delivery id."
    )

    def validate_occurred_at(self, value: Any) -> Any:
        _check(rules.occurred_at_error(value, now=timezone.now()))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        required = {
            DeviceActivity.Kind.SESSION: "length_seconds",
            DeviceActivity.Kind.CUSTOM_ACTION: "action_name",
            DeviceActivity.Kind.PUSH_RECEIVED: "delivery_id",
            DeviceActivity.Kind.PUSH_TAPPED: "delivery_id",
        }.get(kind)
        if required and attrs.get(required) in (None, ""):
            raise serializers.ValidationError({required: [f"Required for a {kind} activity."]})
        return attrs


class ActivitiesInput(StrictInput):
    # What ActivityInput(many=True, allow_empty=False, max_length=100) builds, spelled out:
    # the stubs type the `many=True` constructor as the child's, which takes no max_length;
    # and as a BoundedListSerializer, whose bounds the schema states (minItems, maxItems).
    activities: BoundedListSerializer[Any] = BoundedListSerializer(
        child=ActivityInput(), allow_empty=False, max_length=rules.MAX_ACTIVITIES_PER_CALL
    )


class ActivitiesOutput(serializers.Serializer):
    activity_ids = serializers.ListField(child=serializers.IntegerField())


class PairInput(FlatInput):
    installation_id = installation_id_field()
    code = StrictCharField(max_length=32)
