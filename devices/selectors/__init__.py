"""Reads of the device registry for the management API (and anyone else who needs them).
Each returns a queryset shaped for its listing: related rows joined or prefetched once."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from devices.eligibility import eligible_q
from devices.lead_fields import STANDARD_LEAD_FIELDS, token_values
from devices.models import Device, DeviceActivity, Lead, MobileApp, PushCredential
from devices.services.rules import DeviceNotFound

CREDENTIAL_SAFE_FIELDS = (
    "id",
    "app_id",
    "platform",
    "kind",
    "public_meta",
    "verification",
    "verification_reason",
    "verified_at",
    "uploaded_at",
)


def apps_list() -> QuerySet[MobileApp]:
    """Apps with their credentials' safe columns prefetched (never `secret_encrypted`)."""
    credentials = PushCredential.objects.only(*CREDENTIAL_SAFE_FIELDS).order_by("platform")
    return MobileApp.objects.prefetch_related(
        Prefetch("credentials", queryset=credentials, to_attr="safe_credentials")
    ).order_by("name", "id")


def leads_list(*, email: str | None = None, search: str | None = None) -> QuerySet[Lead]:
    leads = Lead.objects.annotate(device_count=Count("devices")).order_by("email", "id")
    if email:
        leads = leads.filter(email__iexact=email)
    if search:
        leads = leads.filter(email__icontains=search)
    return leads


def devices_list(
    *,
    app_id: int | None = None,
    platform: str | None = None,
    status: str | None = None,
    lead_id: int | None = None,
    installation_id: str | None = None,
    eligible: bool | None = None,
    lead_email: str | None = None,
    lead_external_id: str | None = None,
) -> QuerySet[Device]:
    """Devices with app and lead joined and `app_configured` annotated, so eligibility and
    its reasons are computed without a query per row. `eligible` filters by the same rule
    (devices.eligibility), in SQL."""
    configured = PushCredential.objects.filter(
        app_id=OuterRef("app_id"), platform=OuterRef("platform")
    )
    devices = (
        Device.objects.select_related("app", "lead")
        .annotate(app_configured=Exists(configured))
        .order_by("-last_opened_at", "-id")
    )
    if app_id is not None:
        devices = devices.filter(app_id=app_id)
    if platform:
        devices = devices.filter(platform=platform)
    if status:
        devices = devices.filter(status=status)
    if lead_id is not None:
        devices = devices.filter(lead_id=lead_id)
    if installation_id:
        devices = devices.filter(installation_id=installation_id)
    if lead_email:
        # As the SDK's association matches a lead: the e-mail, case-insensitive.
        devices = devices.filter(lead__email__iexact=lead_email)
    if lead_external_id:
        devices = devices.filter(lead__external_id=lead_external_id)
    if eligible is True:
        devices = devices.filter(eligible_q(), app_configured=True)
    elif eligible is False:
        devices = devices.filter(~eligible_q() | Q(app_configured=False))
    return devices


def device_get(*, app_id: int, installation_id: str) -> Device:
    """One installation of one app, its lead joined: an app never reads another's device."""
    device = (
        Device.objects.select_related("lead")
        .filter(app_id=app_id, installation_id=installation_id)
        .first()
    )
    if device is None:
        raise DeviceNotFound(installation_id)
    return device


def activities_list(
    *,
    device_id: int | None = None,
    lead_id: int | None = None,
    kind: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[DeviceActivity]:
    """Newest first, `since` included and `until` excluded. Filtered by device or by lead, the
    (device, -occurred_at) or (lead, -occurred_at) index serves both the filter and the order,
    so a page reads only its rows; `kind` is checked on those rows."""
    activities = DeviceActivity.objects.all()
    if device_id is not None:
        activities = activities.filter(device_id=device_id)
    if lead_id is not None:
        activities = activities.filter(lead_id=lead_id)
    if kind:
        activities = activities.filter(kind=kind)
    if since is not None:
        activities = activities.filter(occurred_at__gte=since)
    if until is not None:
        activities = activities.filter(occurred_at__lt=until)
    return activities.order_by("-occurred_at", "-id")


def leads_token_values(
    *, lead_ids: Iterable[int] | QuerySet, names: Collection[str] | None = None
) -> dict[int, dict[str, str]]:
    """{lead id: every token name with its value} in one query of plain tuples: the fan-out
    renders a chunk of 1,000 leads, and building Lead instances for that cost more CPU than
    rendering them. `lead_ids` may be a one-column queryset (a subquery). When the token
    `names` wanted are all standard fields, the custom fields are not read (decoding 1,000 JSON
    documents nobody renders)."""
    columns = list(STANDARD_LEAD_FIELDS.values())
    ids = lead_ids if isinstance(lead_ids, QuerySet) else set(lead_ids)
    custom = names is None or not set(names) <= STANDARD_LEAD_FIELDS.keys()
    leads = Lead.objects.filter(id__in=ids)
    if custom:
        rows = leads.values_list("id", "custom_fields", *columns)
        return {row[0]: token_values(row[2:], row[1]) for row in rows}
    return {row[0]: token_values(row[1:], None) for row in leads.values_list("id", *columns)}
