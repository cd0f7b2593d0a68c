"""Who can be sent a push. One definition, used by the device browser, audiences and the send
path (Marketo: first-opened, token registered, push enabled, lead associated, app configured
for the platform)."""

from __future__ import annotations

from typing import Protocol

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from devices.models import Device, PushCredential

NOT_ELIGIBLE_REASONS: dict[str, StrOrPromise] = {
    "never_opened": _("has never opened the app"),
    "no_token": _("has no push token"),
    "push_disabled": _("push is disabled on the device"),
    "token_invalid": _("its push token is invalid"),
    "unregistered": _("it was unregistered (logged out)"),
    "no_lead": _("is not associated with a lead"),
    "app_not_configured": _("the app has no credentials for this platform"),
}


def eligible_q() -> Q:
    """Device-level conditions (the credential condition is `with_app_configured`)."""
    return (
        Q(status=Device.Status.ACTIVE)
        & Q(push_enabled=True)
        & Q(first_opened_at__isnull=False)
        & ~Q(push_token="")
        & Q(lead__isnull=False)
    )


def with_app_configured(devices: QuerySet[Device]) -> QuerySet[Device]:
    configured = PushCredential.objects.filter(
        app_id=OuterRef("app_id"), platform=OuterRef("platform")
    )
    return devices.filter(Exists(configured))


def eligible_devices(devices: QuerySet[Device] | None = None) -> QuerySet[Device]:
    base = devices if devices is not None else Device.objects.all()
    return with_app_configured(base.filter(eligible_q()))


class DeviceState(Protocol):
    """What eligibility reads of a device: a Device, or the send path's plain row of it."""

    @property
    def status(self) -> str: ...
    @property
    def has_opened(self) -> bool: ...
    @property
    def push_token(self) -> str: ...
    @property
    def push_enabled(self) -> bool: ...
    @property
    def lead_id(self) -> int | None: ...


def device_ineligibility(device: DeviceState, *, app_configured: bool) -> list[str]:
    """Reason codes why one device cannot be sent to ([] when eligible)."""
    reasons = []
    if device.status == Device.Status.TOKEN_INVALID:
        reasons.append("token_invalid")
    elif device.status == Device.Status.UNREGISTERED:
        reasons.append("unregistered")
    if not device.has_opened:
        reasons.append("never_opened")
    if not device.push_token and device.status == Device.Status.ACTIVE:
        reasons.append("no_token")
    if not device.push_enabled and device.status == Device.Status.ACTIVE:
        reasons.append("push_disabled")
    if device.lead_id is None:
        reasons.append("no_lead")
    if not app_configured:
        reasons.append("app_not_configured")
    return reasons
