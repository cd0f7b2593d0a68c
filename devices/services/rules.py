"""The device registry's rules: limits, the errors its services raise, and the pure
validators that the SDK serializers and the services both apply (so the API can name the
field). No I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import available_timezones

from devices.models import Platform

MAX_ACTIVITIES_PER_CALL = 100
# A phone's clock may run a little fast; more than this in the future is a client bug.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# No phone ran this app before 2000; an earlier time is a clock reset (1970) or a bug, and it
# would sort ahead of every real activity in the reports.
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
# Custom field integers stop at 64 bits like every other integer input.
CUSTOM_FIELD_INT_RANGE = (-(2**63), 2**63 - 1)
# Marketo's rule: custom action names are under 20 characters.
MAX_ACTION_NAME_LENGTH = 19
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_FIELD_KEY_LENGTH = 50
MAX_CUSTOM_FIELD_VALUE_LENGTH = 255
# Device.push_token is a 255-character column under a unique B-tree index; real FCM
# registration tokens are about 160 characters, so 255 leaves ample room.
FCM_TOKEN_MIN, FCM_TOKEN_MAX = 100, 255
APNS_TOKEN_MIN, APNS_TOKEN_MAX = 64, 200

_HEX = re.compile(r"[0-9a-fA-F]+")
_FCM_CHARS = re.compile(r"[A-Za-z0-9_:.\-]+")
_LOCALE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*")


class RegistryError(Exception):
    """Bad input discovered by a service; `field` names the input, the message the rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AppRef(Protocol):
    """A MobileApp or the SDK's light app reference: all a service needs is the id."""

    @property
    def pk(self) -> int: ...


class StaleCredentials(Exception):
    """The app's SDK secret changed (or the app was deleted) since the caller authenticated."""


class DeviceNotFound(Exception):
    """No device with that installation id in the calling app (other apps' devices included)."""


class IdentityUnverified(Exception):
    """A login without a valid identity signature where one is required, or with a wrong one
    (answered 401: the message names the rule)."""


class LeadOwnedElsewhere(Exception):
    """A field write on a lead another app's verified user owns, from a call not verified for
    that identity (answered 403)."""


class LeadFieldsNotWritable(Exception):
    """Lead fields the app's admin has not marked SDK-writable; `fields` maps each to why."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class IdentityConflict(Exception):
    """The external id and the e-mail sent name two different leads (answered 409)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def push_token_error(*, platform: str, token: str) -> str | None:
    """The rule `token` breaks for `platform`, or None when it is well-formed."""
    if platform == Platform.IOS:
        if not (APNS_TOKEN_MIN <= len(token) <= APNS_TOKEN_MAX) or len(token) % 2:
            return (
                f"APNs device token must be an even number of hex characters, "
                f"{APNS_TOKEN_MIN}-{APNS_TOKEN_MAX} long (got {len(token)})."
            )
        if not _HEX.fullmatch(token):
            return "APNs device token must contain only hex characters 0-9, a-f."
        return None
    if not (FCM_TOKEN_MIN <= len(token) <= FCM_TOKEN_MAX):
        return (
            f"FCM registration token must be {FCM_TOKEN_MIN}-{FCM_TOKEN_MAX} characters "
            f"long (got {len(token)})."
        )
    if not _FCM_CHARS.fullmatch(token):
        return "FCM registration token may contain only letters, digits and _ : . -"
    return None


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone_error(value: str) -> str | None:
    if value and value not in _time_zones():
        return "Must be an IANA time zone name such as Europe/Paris."
    return None


def locale_error(value: str) -> str | None:
    if value and not _LOCALE.fullmatch(value):
        return "Must be a locale such as en, en_US or pt-BR."
    return None


def occurred_at_error(value: datetime, *, now: datetime) -> str | None:
    if value > now + MAX_CLOCK_SKEW:
        return "Must not be more than 5 minutes in the future."
    if value < EARLIEST_OCCURRED_AT:
        return "Must not be before 2000-01-01."
    return None


def _integer_error(key: str, item: object) -> str | None:
    low, high = CUSTOM_FIELD_INT_RANGE
    if isinstance(item, int) and not isinstance(item, bool) and not low <= item <= high:
        return f"Value of {key!r} must fit in 64 bits."
    return None


def custom_fields_error(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "Must be an object of field name to string, number or boolean."
    if len(value) > MAX_CUSTOM_FIELDS:
        return f"At most {MAX_CUSTOM_FIELDS} custom fields."
    for key, item in value.items():
        if not key or len(key) > MAX_CUSTOM_FIELD_KEY_LENGTH:
            return f"Field names must be 1-{MAX_CUSTOM_FIELD_KEY_LENGTH} characters."
        if item is not None and not isinstance(item, (str, int, float, bool)):
            return f"Value of {key!r} must be a string, number or boolean."
        if isinstance(item, str) and len(item) > MAX_CUSTOM_FIELD_VALUE_LENGTH:
            return f"Value of {key!r} must be at most {MAX_CUSTOM_FIELD_VALUE_LENGTH} characters."
        if error := _integer_error(key, item):
            return error
    return None
