"""Audience filter rows -> one Device queryset.

A campaign's `audience` is a list of rows, all of which must hold (AND):

    {"field": "platform", "op": "is", "value": "ios", "negate": false}

Column filters become plain WHERE terms; activity, delivery and lead-field filters become
EXISTS subqueries correlated on the device (or its lead), so the whole audience is one SQL
statement and nothing loops over devices in Python. `negate` wraps the row in NOT.
The base is always the campaign's own app (apps are isolated).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from campaigns.models import Delivery
from campaigns.qualification import RuleError
from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import Device, DeviceActivity, Lead, Platform

TEXT_OPS = ("equals", "contains", "starts_with", "is_empty")
MAX_ROWS = 30


# A malformed filter row: `field` names the offending input, `rule` the broken rule.
AudienceError = RuleError


@dataclass(frozen=True)
class FilterSpec:
    label: StrOrPromise
    kind: str  # choice | text | bool | activity | push | lead_field
    build: Callable[[dict[str, Any], str], Q]


def _text_q(column: str, op: str, value: str) -> Q:
    if op == "is_empty":
        return Q(**{column: ""}) | Q(**{f"{column}__isnull": True})
    lookup = {"equals": "iexact", "contains": "icontains", "starts_with": "istartswith"}[op]
    return Q(**{f"{column}__{lookup}": value})


def _cutoff(row: dict[str, Any], where: str) -> dt.datetime | None:
    days = row.get("within_days")
    if days in (None, ""):
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise AudienceError(f"{where}.within_days", "must be a whole number of days, 1-3650")
    return timezone.now() - dt.timedelta(days=days)


def _activity_exists(kind: str, row: dict[str, Any], where: str) -> Q:
    activities = DeviceActivity.objects.filter(device_id=OuterRef("pk"), kind=kind)
    cutoff = _cutoff(row, where)
    if cutoff is not None:
        activities = activities.filter(occurred_at__gte=cutoff)
    if kind == DeviceActivity.Kind.CUSTOM_ACTION:
        for key, column in (
            ("action_name", "action_name"),
            ("action_type", "action_type"),
            ("details", "details"),
        ):
            wanted = row.get(key)
            if wanted not in (None, ""):
                if not isinstance(wanted, str) or len(wanted) > 255:
                    raise AudienceError(f"{where}.{key}", "must be text up to 255 characters")
                activities = activities.filter(**{f"{column}__iexact": wanted})
    return Q(Exists(activities))


def _column_choice(column: str, choices: tuple[str, ...]) -> Callable[[dict[str, Any], str], Q]:
    def build(row: dict[str, Any], where: str) -> Q:
        value = row.get("value")
        values = value if isinstance(value, list) else [value]
        if not values or any(v not in choices for v in values):
            raise AudienceError(f"{where}.value", f"must be one of: {', '.join(choices)}")
        return Q(**{f"{column}__in": values})

    return build


def _text_condition(row: dict[str, Any], where: str) -> tuple[str, str]:
    """A text row's (op, value), checked: a known op, and a value unless the op is is_empty."""
    op = row.get("op") or "equals"
    if op not in TEXT_OPS:
        raise AudienceError(f"{where}.op", f"must be one of: {', '.join(TEXT_OPS)}")
    value = row.get("value", "")
    if op != "is_empty" and (not isinstance(value, str) or not value.strip()):
        raise AudienceError(f"{where}.value", "is required")
    if isinstance(value, str) and len(value) > 255:
        raise AudienceError(f"{where}.value", "must be at most 255 characters")
    return op, value.strip() if isinstance(value, str) else ""


def _column_text(column: str) -> Callable[[dict[str, Any], str], Q]:
    def build(row: dict[str, Any], where: str) -> Q:
        return _text_q(column, *_text_condition(row, where))

    return build


def _column_bool(column: str) -> Callable[[dict[str, Any], str], Q]:
    def build(row: dict[str, Any], where: str) -> Q:
        value = row.get("value", True)
        if not isinstance(value, bool):
            raise AudienceError(f"{where}.value", "must be true or false")
        return Q(**{column: value})

    return build


def _app(row: dict[str, Any], where: str) -> Q:
    value = row.get("value")
    if isinstance(value, bool) or not isinstance(value, int):
        raise AudienceError(f"{where}.value", "must be an app id")
    return Q(app_id=value)


def _installed(row: dict[str, Any], where: str) -> Q:
    # First open is when the SDK installs; the column is set exactly then.
    cutoff = _cutoff(row, where)
    if cutoff is None:
        return Q(first_opened_at__isnull=False)
    return Q(first_opened_at__gte=cutoff)


def _opened(row: dict[str, Any], where: str) -> Q:
    cutoff = _cutoff(row, where)
    if cutoff is None:
        return Q(first_opened_at__isnull=False)
    return Q(last_opened_at__gte=cutoff)


def _push_filter(*, tapped: bool) -> Callable[[dict[str, Any], str], Q]:
    def build(row: dict[str, Any], where: str) -> Q:
        deliveries = Delivery.objects.filter(device_id=OuterRef("pk"))
        column = "tapped_at" if tapped else "sent_at"
        deliveries = deliveries.filter(**{f"{column}__isnull": False})
        if not tapped:
            deliveries = deliveries.filter(status=Delivery.Status.SENT)
        notification_id = row.get("notification_id")
        if notification_id not in (None, ""):
            if isinstance(notification_id, bool) or not isinstance(notification_id, int):
                raise AudienceError(f"{where}.notification_id", "must be a push id")
            deliveries = deliveries.filter(run__notification_id=notification_id)
        cutoff = _cutoff(row, where)
        if cutoff is not None:
            deliveries = deliveries.filter(**{f"{column}__gte": cutoff})
        return Q(Exists(deliveries))

    return build


def _lead_field(row: dict[str, Any], where: str) -> Q:
    name = row.get("lead_field")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise AudienceError(f"{where}.lead_field", "is required (a standard or custom field name)")
    op, value = _text_condition(row, where)
    leads = Lead.objects.filter(pk=OuterRef("lead_id"))
    attr = STANDARD_LEAD_FIELDS.get(name.strip())
    if attr is None:
        # Custom fields live in JSON; the key is passed as a value, never parsed as a lookup,
        # so names with spaces or "__" are safe.
        text = Cast(KeyTextTransform(name.strip(), "custom_fields"), CharField())
        leads = leads.annotate(_field=Coalesce(text, Value("")))
        attr = "_field"
    return Q(Exists(leads.filter(_text_q(attr, op, value))))


FILTERS: dict[str, FilterSpec] = {
    "app": FilterSpec(_("Has mobile app"), "app", _app),
    "platform": FilterSpec(
        _("Platform"), "choice", _column_choice("platform", tuple(Platform.values))
    ),
    "app_version": FilterSpec(_("App version"), "text", _column_text("app_version")),
    "locale": FilterSpec(_("Locale"), "text", _column_text("locale")),
    "device_model": FilterSpec(_("Device model"), "text", _column_text("device_model")),
    "push_enabled": FilterSpec(_("Is push enabled"), "bool", _column_bool("push_enabled")),
    "is_test_device": FilterSpec(_("Is test device"), "bool", _column_bool("is_test_device")),
    "installed": FilterSpec(_("Mobile app was installed"), "activity", _installed),
    "opened": FilterSpec(_("Mobile app was opened"), "activity", _opened),
    "app_activity": FilterSpec(
        _("Had mobile app activity"),
        "activity",
        lambda row, where: _activity_exists(DeviceActivity.Kind.CUSTOM_ACTION, row, where),
    ),
    "session": FilterSpec(
        _("Had mobile app session"),
        "activity",
        lambda row, where: _activity_exists(DeviceActivity.Kind.SESSION, row, where),
    ),
    "tapped_push": FilterSpec(_("Tapped push notification"), "push", _push_filter(tapped=True)),
    "was_sent_push": FilterSpec(
        _("Was sent push notification"), "push", _push_filter(tapped=False)
    ),
    "lead_field": FilterSpec(_("Lead field"), "lead_field", _lead_field),
}


def audience_validate(rows: Any) -> list[dict[str, Any]]:
    """Check every row and return them normalized; raise AudienceError naming the bad field."""
    if rows in (None, ""):
        return []
    if not isinstance(rows, list):
        raise AudienceError("audience", "must be a list of filter rows")
    if len(rows) > MAX_ROWS:
        raise AudienceError("audience", f"may have at most {MAX_ROWS} rows")
    clean = []
    for index, row in enumerate(rows):
        where = f"audience[{index}]"
        if not isinstance(row, dict):
            raise AudienceError(where, "must be an object")
        field = row.get("field")
        if field not in FILTERS:
            raise AudienceError(f"{where}.field", f"must be one of: {', '.join(FILTERS)}")
        if not isinstance(row.get("negate", False), bool):
            raise AudienceError(f"{where}.negate", "must be true or false")
        FILTERS[field].build(row, where)  # raises on bad input
        clean.append({**row, "negate": bool(row.get("negate", False))})
    return clean


def audience_q(rows: list[dict[str, Any]]) -> Q:
    """All rows ANDed into one Q (EXISTS subqueries for activity, pushes and lead fields)."""
    combined = Q()
    for index, row in enumerate(audience_validate(rows)):
        q = FILTERS[row["field"]].build(row, f"audience[{index}]")
        combined &= ~q if row["negate"] else q
    return combined


def audience_devices(*, app_id: int, rows: list[dict[str, Any]]) -> QuerySet[Device]:
    """Devices of the app matching the filters, before eligibility."""
    return Device.objects.filter(app_id=app_id).filter(audience_q(rows))
