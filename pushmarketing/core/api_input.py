"""What every API input serializer shares: fields that refuse what the schema does not say
(a number where it says string, an integer no database column can hold) and inputs that
refuse fields they do not declare, naming them, instead of dropping them silently."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.validators import EmailValidator
from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from rest_framework import serializers

# Ids and counters are 64-bit signed columns on both backends; a bigger Python int reaching a
# query raises OverflowError in the driver (a 500), so inputs stop at the column's range.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NOT_A_STRING = "Must be a string."
UNKNOWN_FIELD = "Unknown field."


class Int64Field(serializers.IntegerField):
    """An integer within a 64-bit column's range (narrower bounds may be given)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(**kwargs)


def _string(data: Any) -> str:
    # DRF's CharField turns 12 into "12"; the schema says string, so a number is refused.
    if not isinstance(data, str):
        raise serializers.ValidationError(NOT_A_STRING, code="not_a_string")
    return data


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(_string(data))


class _InternationalEmailValidator(EmailValidator):
    # RFC 6531: a local part may hold any letter (josé@…, 田中@…), not only ASCII. Django's
    # validator refuses them (its domain part already takes international names).
    user_regex = re.compile(
        r"(^[\w!#$%&'*+/=?^`{}|~-]+(\.[\w!#$%&'*+/=?^`{}|~-]+)*\Z"
        r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
        re.IGNORECASE,
    )


class StrictEmailField(serializers.EmailField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Swap DRF's EmailValidator for one that takes international local parts.
        self.validators = [
            _InternationalEmailValidator(message=v.message) if isinstance(v, EmailValidator) else v
            for v in self.validators
        ]

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(_string(data))


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(_string(data))


# A request body that names each field it does not declare (a typo such as `pushtoken` would
# otherwise be dropped and the call "succeed" without it). A comment, not a docstring: the
# schema publishes a serializer's (inherited) docstring as the body's description.
class StrictInput(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [str(key) for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError({key: [UNKNOWN_FIELD] for key in unknown})
        return super().to_internal_value(data)


class StrictInputSchema(OpenApiSerializerExtension):
    """The schema says what StrictInput enforces: no properties beyond those listed (a
    generated client, or schemathesis, would otherwise send extra ones and expect success)."""

    target_class = StrictInput
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        # The base class maps `target_class` (StrictInput itself); map the matched subclass.
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        return {**schema, "additionalProperties": False}


_Item = TypeVar("_Item")


class BoundedListSerializer(serializers.ListSerializer[_Item]):
    """A list of objects with `allow_empty` / `min_length` / `max_length` that the schema
    states as minItems / maxItems (drf-spectacular maps them for ListField only)."""


class BoundedListSchema(OpenApiSerializerFieldExtension):
    target_class = BoundedListSerializer
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            field, direction, bypass_extensions=True
        )
        low = field.min_length if field.min_length is not None else (0 if field.allow_empty else 1)
        if low:
            schema["minItems"] = low
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
        return schema
