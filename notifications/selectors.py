"""Reads for the composer, the lists and the campaign picker."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from devices.eligibility import eligible_devices
from devices.lead_fields import STANDARD_LEAD_FIELDS
from devices.models import Device, Lead, MobileApp
from notifications import hooks
from notifications.locales import locale_normalize
from notifications.models import NotificationEvent, PushNotification

LEAD_FIELDS_CACHE_KEY = "notifications:lead-token-fields"
LEAD_FIELDS_CACHE_SECONDS = 60
AUDIENCE_LOCALES_CACHE_SECONDS = 60
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


def audience_locales(*, app_id: int) -> list[tuple[str, int]]:
    """The app's reachable devices per locale, normalised (`fr-CA` and `fr_CA` are one row;
    "" for devices that report none), most devices first.

    One GROUP BY over the raw column (a few distinct values even for millions of devices),
    merged after normalising; cached for a minute per app because the composer asks on every
    preview refresh and the answer changes slowly."""
    key = f"notifications:audience-locales:{app_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        eligible_devices(Device.objects.filter(app_id=app_id))
        .order_by()
        .values_list("locale")
        .annotate(devices=Count("id"))
    )
    counts: dict[str, int] = {}
    for raw, devices in rows:
        code = locale_normalize(raw)
        counts[code] = counts.get(code, 0) + devices
    result = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    cache.set(key, result, AUDIENCE_LOCALES_CACHE_SECONDS)
    return result


def lead_device_locale(*, lead: Lead, app_id: int | None) -> str:
    """The locale *Preview as* uses for a lead: that of their most recently opened device of
    the app (of any app when none is chosen); "" when they have no device."""
    devices = Device.objects.filter(lead=lead).exclude(locale="")
    if app_id is not None:
        devices = devices.filter(app_id=app_id)
    newest = (F("last_opened_at").desc(nulls_last=True), "-id")
    locale = devices.order_by(*newest).values_list("locale", flat=True).first()
    return locale or ""
