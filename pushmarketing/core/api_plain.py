"""The plain path of a flat input serializer: a body that is plainly valid skips DRF's field
machinery; anything else goes through the serializer, which words the errors.

A register call is the SDK's hot path, and `RegisterInput(data=…).is_valid()` cost about
190 µs of a 1.1 ms request (bench/register.py): DRF builds nine bound fields per call and runs
each through validate_empty_values → to_internal_value → run_validators with its error
bookkeeping. Almost every real body is already exactly what the schema asks (strings that are
strings, no edge whitespace, known keys), and for those the answer is the body itself after
the same validators and the serializer's own `validate_<field>` / `validate` rules.

So this path only *accepts*: each field's reader returns the value DRF would produce, or
`_DECLINE` for anything it is not certain about (a number where a string is expected, edge
whitespace DRF would trim, a missing required field, a validator's complaint, a field type it
does not know), and the caller then runs the full serializer. tests/pushmarketing/
test_api_plain.py checks with hypothesis that every body this path accepts, DRF accepts with
the same values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import fields, serializers
from rest_framework.fields import SkipField
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from pushmarketing.core.api_input import StrictCharField, StrictEmailField, StrictRegexField

_DECLINE = object()
Reader = Callable[[Any], Any]
Check = Callable[[Any], bool]
_SURROGATE = re.compile("[\ud800-\udfff]")

# CharField subclasses whose to_internal_value only checks type and trims: others (URLField,
# IPAddressField, SlugField…) may transform the value, so they are not read here.
_TEXT_FIELDS = (
    fields.CharField,
    fields.RegexField,
    fields.EmailField,
    StrictCharField,
    StrictRegexField,
    StrictEmailField,
)


def _check(validator: Any) -> Check:
    """True when `validator` passes the value. The common ones as one expression each: DRF's
    surrogate check alone walked a 64-character token in Python, a third of this path."""
    limit: Any = getattr(validator, "limit_value", None)
    if callable(limit) or type(validator) is django_validators.RegexValidator:
        pass
    elif type(validator) is django_validators.MaxLengthValidator:
        return lambda value: len(value) <= limit
    elif type(validator) is django_validators.MinLengthValidator:
        return lambda value: len(value) >= limit
    elif type(validator) is django_validators.MaxValueValidator:
        return lambda value: value <= limit
    elif type(validator) is django_validators.MinValueValidator:
        return lambda value: value >= limit
    elif type(validator) is django_validators.ProhibitNullCharactersValidator:
        return lambda value: "\x00" not in value
    elif type(validator) is ProhibitSurrogateCharactersValidator:
        return lambda value: _SURROGATE.search(value) is None

    def passes(value: Any) -> bool:
        try:
            validator(value)
        except (serializers.ValidationError, DjangoValidationError):
            return False
        return True

    return passes


def _validator(field: fields.Field) -> Callable[[Any], Any]:
    """The field's validators as one call: the value, or _DECLINE."""
    checks = tuple(_check(v) for v in field.validators)

    def validated(value: Any) -> Any:
        for check in checks:
            if not check(value):
                return _DECLINE
        return value

    return validated


def _text_reader(field: fields.CharField) -> Reader:
    validated = _validator(field)

    def read(value: Any) -> Any:
        if value is None:
            return None if field.allow_null else _DECLINE
        if type(value) is not str:
            return _DECLINE
        if value == "":
            return "" if field.allow_blank else _DECLINE
        if field.trim_whitespace and value.strip() != value:
            return _DECLINE
        return validated(value)

    return read


def _choice_reader(field: fields.ChoiceField) -> Reader:
    choices = field.choice_strings_to_values
    validated = _validator(field)

    def read(value: Any) -> Any:
        if value is None:
            return None if field.allow_null else _DECLINE
        if type(value) is not str or value not in choices:
            return _DECLINE
        return validated(choices[value])

    return read


def _typed_reader(field: fields.Field, kind: type) -> Reader:
    validated = _validator(field)

    def read(value: Any) -> Any:
        if value is None:
            return None if field.allow_null else _DECLINE
        if type(value) is not kind:  # bool is not int here, and "true" is not bool
            return _DECLINE
        return validated(value)

    return read


def _reader(field: fields.Field) -> Reader | None:
    if type(field) in _TEXT_FIELDS:
        return _text_reader(field)  # type: ignore[arg-type]
    if type(field) is fields.ChoiceField:
        return _choice_reader(field)
    if type(field) is fields.BooleanField:
        return _typed_reader(field, bool)
    if isinstance(field, fields.IntegerField) and type(field).to_internal_value is (
        fields.IntegerField.to_internal_value
    ):
        return _typed_reader(field, int)
    return None


@dataclass(frozen=True)
class _Step:
    name: str
    field: fields.Field
    read: Reader
    check: Callable[[Any], Any] | None  # the serializer's `validate_<name>`, if it has one


@dataclass(frozen=True)
class _Plan:
    steps: tuple[_Step, ...]
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None  # its `validate`, if overridden


@functools.cache
def _plan(serializer_class: type[serializers.Serializer]) -> _Plan | None:
    """The plain path of `serializer_class`, or None when it has none.

    Its hooks are bound to one instance made here rather than one per call: building a
    serializer walks its MRO for error messages (about 6 % of a register call, py-spy). That
    instance has no data, instance or context, exactly as the per-call one had; the plain
    path is for flat input serializers whose `validate_<field>` / `validate` are pure checks
    (they must not keep state on `self`)."""
    declared = serializer_class._declared_fields
    serializer = serializer_class()
    if serializer.get_validators():
        return None
    steps = []
    for name, field in declared.items():
        reader = _reader(field)
        if reader is None or field.read_only or field.source not in (None, name):
            return None
        steps.append(_Step(name, field, reader, getattr(serializer, f"validate_{name}", None)))
    overridden = type(serializer).validate is not serializers.Serializer.validate
    return _Plan(tuple(steps), serializer.validate if overridden else None)


def plain_validated(
    serializer_class: type[serializers.Serializer], data: Any
) -> dict[str, Any] | None:
    """The serializer's validated data for a plainly valid `data`, or None: then run the
    serializer itself (it accepts what this declined, or words the error)."""
    plan = _plan(serializer_class)
    if plan is None or not isinstance(data, Mapping) or len(data) > len(plan.steps):
        return None
    values: dict[str, Any] = {}
    seen = 0
    for step in plan.steps:
        name, field = step.name, step.field
        if name in data:
            seen += 1
            value = step.read(data[name])
            if value is _DECLINE:
                return None
        elif field.required:
            return None
        else:
            try:
                value = field.get_default()
            except SkipField:
                continue
        if step.check is not None:
            try:
                value = step.check(value)
            except serializers.ValidationError:
                return None
        values[name] = value
    if seen != len(data):  # a key the serializer does not declare: it names it
        return None
    if plan.validate is None:
        return values
    try:
        return plan.validate(values)
    except serializers.ValidationError:
        return None
