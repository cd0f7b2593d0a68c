"""Reads for the composer, the lists and the campaign picker."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet

from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import Lead, MobileApp
from notifications import hooks
from notifications.models import NotificationEvent, PushNotification

LEAD_FIELDS_CACHE_KEY = "notifications:lead-token-fields"
LEAD_FIELDS_CACHE_SECONDS = 60
MAX_CUSTOM_FIELDS = 200
TOKEN_FIELD_RE = re.compile(r"^[A-Za-z0-9_ .\-]{1,60}$")
# The list filter an approver's "waiting for approval" link uses: a new draft, or changes to
# an approved push.
WAITING_FOR_APPROVAL = "waiting"
WAITING_STATUSES = (PushNotification.Status.DRAFT, PushNotification.Status.APPROVED_WITH_DRAFT)


def notification_list(
    *, search: str = "", app_id: int | None = None, status: str = "", platform: str = ""
) -> QuerySet[PushNotification]:
    qs = PushNotification.objects.select_related("app", "updated_by")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(message__icontains=search))
    if app_id:
        qs = qs.filter(app_id=app_id)
    if status == WAITING_FOR_APPROVAL:
        qs = qs.filter(status__in=WAITING_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if platform == "ios":
        qs = qs.filter(ios_enabled=True)
    elif platform == "android":
        qs = qs.filter(android_enabled=True)
    return qs


def notification_get(*, notification_id: int) -> PushNotification:
    return PushNotification.objects.select_related(
        "app", "approved_by", "created_by", "updated_by"
    ).get(pk=notification_id)


def notifications_approved_for(app: MobileApp | int) -> QuerySet[PushNotification]:
    """Pushes a campaign for `app` may use: those with an approved (frozen) copy."""
    app_id = app if isinstance(app, int) else app.pk
    return PushNotification.objects.filter(
        app_id=app_id,
        status__in=[PushNotification.Status.APPROVED, PushNotification.Status.APPROVED_WITH_DRAFT],
        approved_content__isnull=False,
    ).order_by("name", "id")


def notification_events(*, notification: PushNotification) -> QuerySet[NotificationEvent]:
    return notification.events.select_related("actor")


def notification_campaign_names(*, notification: PushNotification) -> list[str]:
    """Names of campaigns that use the push (directly or through a run); [] when unused.
    Campaigns answers through the hook it registers (notifications does not import it)."""
    return hooks.notification_users(notification)


def _custom_field_keys() -> list[str]:
    table = Lead._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT DISTINCT k FROM {table}, jsonb_object_keys("  # noqa: S608 - table name
            f"CASE WHEN jsonb_typeof(custom_fields::jsonb) = 'object' "
            f"THEN custom_fields::jsonb ELSE '{{}}'::jsonb END) AS k ORDER BY k LIMIT %s"
        )
    else:
        sql = (
            f"SELECT DISTINCT j.key FROM {table}, json_each({table}.custom_fields) AS j "  # noqa: S608
            f"WHERE json_type({table}.custom_fields) = 'object' ORDER BY j.key LIMIT %s"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [MAX_CUSTOM_FIELDS])
        return [row[0] for row in cursor.fetchall()]


def lead_token_field_names() -> list[str]:
    """Token field names: the standard lead fields, then custom field keys seen on leads.

    One DISTINCT over the JSON keys in SQL, cached for a minute: the composer asks on every
    form validation and the answer changes rarely."""
    cached = cache.get(LEAD_FIELDS_CACHE_KEY)
    if cached is not None:
        return cached
    standard = list(STANDARD_LEAD_FIELDS)
    # Keys the token grammar cannot name (e.g. with braces or colons) are not offered.
    custom = [
        key
        for key in _custom_field_keys()
        if key not in STANDARD_LEAD_FIELDS and TOKEN_FIELD_RE.match(key)
    ]
    names = standard + custom
    cache.set(LEAD_FIELDS_CACHE_KEY, names, LEAD_FIELDS_CACHE_SECONDS)
    return names


def leads_search(*, query: str, limit: int = 10) -> QuerySet[Lead]:
    """The Preview-as picker: leads whose email (or name) contains the query."""
    query = query.strip()
    if not query:
        return Lead.objects.none()
    return Lead.objects.filter(
        Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
    ).order_by("email")[:limit]
