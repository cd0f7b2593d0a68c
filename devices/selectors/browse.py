"""Reads for the leads and devices browser and the overview. Every list is one query per page
(plus the paginator's count): eligibility's credential condition is an annotation, not a
per-row lookup."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from devices.eligibility import NOT_ELIGIBLE_REASONS, device_ineligibility, eligible_q
from devices.models import Device, DeviceActivity, Lead, MobileApp, Platform, PushCredential
from devices.selectors import activities_list

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _AppConfigured(TypedDict):
        app_configured: bool

    # A device from `devices_with_app_configured`: eligibility's credential condition is known.
    DeviceWithAppConfigured = WithAnnotations[Device, _AppConfigured]


@dataclass(frozen=True)
class DeviceFilters:
    q: str = ""
    app_id: int | None = None
    platform: str = ""
    status: str = ""
    eligible: bool | None = None
    test_device: bool | None = None
    lead_id: int | None = None


def devices_with_app_configured(
    devices: QuerySet[Device],
) -> QuerySet[DeviceWithAppConfigured]:
    configured = PushCredential.objects.filter(
        app_id=OuterRef("app_id"), platform=OuterRef("platform")
    )
    return devices.annotate(app_configured=Exists(configured))


def device_list(filters: DeviceFilters) -> QuerySet[DeviceWithAppConfigured]:
    devices = devices_with_app_configured(Device.objects.select_related("app", "lead"))
    if filters.q:
        devices = devices.filter(
            Q(installation_id__icontains=filters.q)
            | Q(push_token__startswith=filters.q)
            | Q(lead__email__icontains=filters.q)
            | Q(test_device_name__icontains=filters.q)
            | Q(device_model__icontains=filters.q)
        )
    if filters.app_id:
        devices = devices.filter(app_id=filters.app_id)
    if filters.platform:
        devices = devices.filter(platform=filters.platform)
    if filters.status:
        devices = devices.filter(status=filters.status)
    if filters.lead_id:
        devices = devices.filter(lead_id=filters.lead_id)
    if filters.test_device is not None:
        devices = devices.filter(is_test_device=filters.test_device)
    if filters.eligible is True:
        devices = devices.filter(eligible_q(), app_configured=True)
    elif filters.eligible is False:
        devices = devices.filter(~eligible_q() | Q(app_configured=False))
    return devices.order_by("-last_opened_at", "-id")


def device_eligibility_reasons(device: DeviceWithAppConfigured) -> list[str]:
    """Human reasons for a device fetched through `devices_with_app_configured`."""
    codes = device_ineligibility(device, app_configured=device.app_configured)
    return [str(NOT_ELIGIBLE_REASONS[code]) for code in codes]


def devices_annotate_eligibility(devices: Iterable[DeviceWithAppConfigured]) -> None:
    for device in devices:
        # A display attribute that templates/devices/_eligibility.html reads, not a field.
        device.not_eligible_reasons = device_eligibility_reasons(device)  # type: ignore[attr-defined]


def lead_list(*, q: str = "", app_id: int | None = None) -> QuerySet[Lead]:
    leads = Lead.objects.all()
    if q:
        leads = leads.filter(
            Q(email__icontains=q)
            | Q(external_id=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    if app_id:
        leads = leads.filter(Exists(Device.objects.filter(lead=OuterRef("pk"), app_id=app_id)))
    return leads.annotate(device_count=Count("devices")).order_by("email")


def activity_list(
    *,
    lead_id: int | None = None,
    device_id: int | None = None,
    kind: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[DeviceActivity]:
    """Newest first. Dates are whole UTC days, compared as a range so the index is used."""
    return activities_list(
        lead_id=lead_id,
        device_id=device_id,
        kind=kind,
        since=None if since is None else _day_start(since),
        until=None if until is None else _day_start(until + timedelta(days=1)),
    ).select_related("device", "app")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def app_list_rows() -> list[dict[str, Any]]:
    """Each app with its device count and its credential per platform: two queries."""
    apps_ = MobileApp.objects.annotate(device_count=Count("devices")).prefetch_related(
        Prefetch(
            "credentials",
            queryset=PushCredential.objects.only("app_id", "platform", "kind", "verification"),
        )
    )
    rows = []
    for app in apps_:
        by_platform = {c.platform: c for c in app.credentials.all()}
        rows.append(
            {
                "app": app,
                "ios": by_platform.get(Platform.IOS),
                "android": by_platform.get(Platform.ANDROID),
            }
        )
    return rows


def app_choices() -> list[tuple[int, str]]:
    return list(MobileApp.objects.order_by("name").values_list("id", "name"))


def overview_counts() -> dict[str, Any]:
    """The overview numbers: three aggregate queries whatever the data size."""
    configured = PushCredential.objects.filter(
        app_id=OuterRef("app_id"), platform=OuterRef("platform")
    )
    device_counts = Device.objects.aggregate(
        total=Count("id"),
        eligible=Count("id", filter=eligible_q() & Q(Exists(configured))),
    )
    app_counts = MobileApp.objects.aggregate(
        total=Count("id", distinct=True),
        configured=Count("id", filter=Q(credentials__isnull=False), distinct=True),
    )
    return {
        "apps": app_counts["total"],
        "apps_configured": app_counts["configured"],
        "devices": device_counts["total"],
        "devices_eligible": device_counts["eligible"],
        "leads": Lead.objects.count(),
    }
