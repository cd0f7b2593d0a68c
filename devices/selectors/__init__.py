"""Reads of the device registry for the management API (and anyone else who needs them).
Each returns a queryset shaped for its listing: related rows joined or prefetched once."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

from devices.models import Device, Lead, MobileApp, PushCredential

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
) -> QuerySet[Device]:
    """Devices with app and lead joined and `app_configured` annotated, so eligibility and
    its reasons are computed without a query per row."""
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
    return devices
