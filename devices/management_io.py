"""Query parameters and error answers of the management API's device and activity reads.
The parameters, like request bodies, refuse what they do not declare, naming it: a misspelt
filter (`?knd=push_tapped`) would otherwise answer 200 with every row, unfiltered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.fields import empty

from devices.models import DeviceActivity
from devices.services.rules import EARLIEST_OCCURRED_AT
from pushmarketing.core.api_errors import ErrorOutput
from pushmarketing.core.api_input import Int64Field, StrictInput
from pushmarketing.core.management_api import ManagementPagination

# Activities are stored from 2000 on (devices.services.rules); a bound well past any clock
# keeps a far-future `until` from reaching the database (year 9999 plus an offset overflows).
LATEST_QUERY_TIME = datetime(2100, 1, 1, tzinfo=UTC)
TIME_HELP = "ISO 8601 date-time (without an offset: UTC), from 2000-01-01 to 2100-01-01."


class PagedQuery(StrictInput):
    """Declares the paginator's own parameters so that they are not refused as unknown."""

    page = Int64Field(required=False, min_value=1, help_text="1-based page number.")
    page_size = Int64Field(
        required=False,
        min_value=1,
        max_value=ManagementPagination.max_page_size,
        help_text=f"Rows per page (default {ManagementPagination.page_size}).",
    )


class QueryBooleanField(serializers.BooleanField):
    # DRF reads a boolean missing from form (and query) data as False, an unticked checkbox;
    # a filter left out of a query string means no filter.
    default_empty_html = empty


class BoundedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        if not EARLIEST_OCCURRED_AT <= parsed <= LATEST_QUERY_TIME:
            raise serializers.ValidationError(
                "Must be from 2000-01-01 to 2100-01-01.", code="out_of_range"
            )
        return parsed


class ActivityFilter(PagedQuery):
    kind = serializers.ChoiceField(
        choices=DeviceActivity.Kind.choices, required=False, help_text="Only this kind."
    )
    since = BoundedDateTimeField(required=False, help_text=f"occurred_at ≥ since. {TIME_HELP}")
    until = BoundedDateTimeField(required=False, help_text=f"occurred_at < until. {TIME_HELP}")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


def management_errors(*, not_found: str, invalid: bool = True) -> dict[int, OpenApiResponse]:
    """The error answers of a registry read (RegistryApi: open whatever the add-on), in the
    one error shape both APIs publish (pushmarketing.core.api_errors.ErrorOutput)."""
    responses = {
        401: OpenApiResponse(ErrorOutput, "Missing, wrong or revoked API token."),
        403: OpenApiResponse(ErrorOutput, "The token's user is neither admin nor marketer."),
        404: OpenApiResponse(ErrorOutput, not_found),
        429: OpenApiResponse(ErrorOutput, "Too many requests for this token; see Retry-After."),
    }
    if invalid:
        responses[400] = OpenApiResponse(
            ErrorOutput, "A query parameter is invalid or unknown: error.fields names each."
        )
    return responses
