"""The in-app demo: virtual devices that open the app, see the in-app message in a phone
frame, and tap a button or dismiss it — the whole loop offline after `make run`.

Each action goes through the services the SDK endpoints call, for the phone's app and
installation (as the push inbox's Received / Tap do): *Open the app* records an app open
(devices.services.registration.device_register, the SDK's launch call), then asks
inapp_message_for_device with the app_open trigger; a shown message reports its impression;
a tap or a dismissal is inapp_event_record. So the first open of a new phone shows nothing
(Marketo's rule), display limits apply, and the dashboard counts what the phones did.

Which message each phone is showing is kept in the browser session (a phone's screen)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from devices.models import Device, DeviceActivity, MobileApp
from devices.services.activities import device_activities_record
from devices.services.registration import device_register
from devices.services.rules import DeviceNotFound, RegistryError
from inapp.models import TAP_TARGETS, InAppCampaign, InAppEvent
from inapp.previews import frame_from_rendered
from inapp.rules import InAppError
from inapp.selectors.eligibility import Reason, inapp_message_for_device
from inapp.services.events import inapp_event_record
from inapp.views import inapp_addon_required
from pushmarketing.core.roles import Role
from pushmarketing.core.ui import role_required

SCREENS_SESSION_KEY = "inapp_demo_screens"
PART_NAMES = {
    "text": gettext_noop("text"),
    "image": gettext_noop("image"),
    "background": gettext_noop("background"),
}
MAX_PHONES = 12
REASON_TEXT = {
    Reason.ADDON_DISABLED: gettext_noop("The In-app messages add-on is off: the SDK gets nothing."),
    Reason.NEVER_OPENED: gettext_noop("This phone never opened the app."),
    Reason.FIRST_OPEN: gettext_noop(
        "First open: the SDK is starting up, so App Open messages wait for the next open."
    ),
    Reason.NOTHING_ELIGIBLE: gettext_noop(
        "Nothing to show: no live campaign matches this phone now "
        "(audience, window, display limit or frequency cap)."
    ),
}


def _screens(request: HttpRequest) -> dict[str, dict[str, Any]]:
    value = request.session.get(SCREENS_SESSION_KEY)
    return value if isinstance(value, dict) else {}


def _phones(request: HttpRequest, app: MobileApp | None) -> list[dict[str, Any]]:
    devices = (
        Device.objects.filter(app=app)
        .exclude(status=Device.Status.UNREGISTERED)
        .select_related("lead")
        .order_by("-is_test_device", "pk")[:MAX_PHONES]
        if app
        else []
    )
    screens = _screens(request)
    phones = []
    for device in devices:
        screen = screens.get(str(device.pk))
        phones.append(
            {
                "device": device,
                "screen": screen,
                "form_id": f"event-{device.pk}",
                "frame": frame_from_rendered(screen["message"], platform=device.platform)
                if screen
                else None,
            }
        )
    return phones


@require_GET
@inapp_addon_required
@role_required(Role.MARKETER)
def virtual_devices(request: HttpRequest) -> HttpResponse:
    apps = MobileApp.objects.order_by("name")
    app_id = request.GET.get("app", "")
    app = apps.filter(pk=int(app_id)).first() if app_id.isdigit() else apps.first()
    return render(
        request,
        "inapp/virtual_devices.html",
        {"apps": apps, "app": app, "phones": _phones(request, app)},
    )


def _back(device: Device) -> HttpResponse:
    response = redirect("inapp-virtual-devices")
    response["Location"] += f"?app={device.app_id}#phone-{device.pk}"
    return response


def _show(request: HttpRequest, device: Device, *, trigger: str, action_name: str = "") -> None:
    answer = inapp_message_for_device(
        app_id=device.app_id,
        installation_id=device.installation_id,
        trigger=trigger,
        action_name=action_name,
    )
    screens = _screens(request)
    if answer.message is None or answer.campaign_id is None:
        screens.pop(str(device.pk), None)
        messages.info(request, _(REASON_TEXT.get(answer.reason, answer.reason)))
    else:
        # The SDK reports the impression once the message is on screen.
        inapp_event_record(
            app_id=device.app_id,
            installation_id=device.installation_id,
            campaign_id=answer.campaign_id,
            kind=InAppEvent.Kind.IMPRESSION,
        )
        screens[str(device.pk)] = {"campaign_id": answer.campaign_id, "message": answer.message}
        messages.success(request, _("The phone shows an in-app message."))
    request.session[SCREENS_SESSION_KEY] = screens


@require_POST
@inapp_addon_required
@role_required(Role.MARKETER)
def virtual_device_open(request: HttpRequest, device_id: int) -> HttpResponse:
    """The app comes to the foreground: the SDK's launch call, then "what should I show?"."""
    device = get_object_or_404(Device, pk=device_id)
    try:
        device_register(
            app_id=device.app_id,
            data={"installation_id": device.installation_id, "platform": device.platform},
        )
    except RegistryError as exc:
        messages.error(request, str(exc))
        return _back(device)
    _show(request, device, trigger=InAppCampaign.Trigger.APP_OPEN)
    return _back(device)


@require_POST
@inapp_addon_required
@role_required(Role.MARKETER)
def virtual_device_action(request: HttpRequest, device_id: int) -> HttpResponse:
    """The app reports a custom action, then asks what to show for it."""
    device = get_object_or_404(Device, pk=device_id)
    name = request.POST.get("action_name", "").strip()
    if not name:
        messages.error(request, _("Custom action: enter the action's name."))
        return _back(device)
    try:
        # The SDK reports the action (the lead's activity log, push triggers) before asking.
        device_activities_record(
            app_id=device.app_id,
            installation_id=device.installation_id,
            activities=[{"kind": DeviceActivity.Kind.CUSTOM_ACTION, "action_name": name}],
        )
    except (RegistryError, DeviceNotFound) as exc:
        messages.error(request, str(exc))
        return _back(device)
    _show(request, device, trigger=InAppCampaign.Trigger.CUSTOM_ACTION, action_name=name)
    return _back(device)


@require_POST
@inapp_addon_required
@role_required(Role.MARKETER)
def virtual_device_event(request: HttpRequest, device_id: int) -> HttpResponse:
    """A tap on a button (or the message), or the close button: reported, screen cleared."""
    device = get_object_or_404(Device, pk=device_id)
    screens = _screens(request)
    screen = screens.get(str(device.pk))
    if screen is None:
        messages.error(request, _("This phone is not showing an in-app message."))
        return _back(device)
    button = request.POST.get("button", "")
    part = request.POST.get("target", "")
    if button.isdigit():
        kind, target = InAppEvent.Kind.TAP, f"button{button}"
    elif part in TAP_TARGETS:
        kind, target = InAppEvent.Kind.TAP, part
    else:
        kind, target = InAppEvent.Kind.DISMISS, ""
    try:
        inapp_event_record(
            app_id=device.app_id,
            installation_id=device.installation_id,
            campaign_id=screen["campaign_id"],
            kind=kind,
            target=target,
        )
    except (InAppError, DeviceNotFound) as exc:
        messages.error(request, str(exc))
        return _back(device)
    screens.pop(str(device.pk), None)
    request.session[SCREENS_SESSION_KEY] = screens
    if target in TAP_TARGETS:
        messages.success(
            request, _("The phone reported a tap on the %(part)s.") % {"part": _(PART_NAMES[part])}
        )
    elif kind == InAppEvent.Kind.TAP:
        messages.success(request, _("The phone reported a tap on button %(n)s.") % {"n": button})
    else:
        messages.success(request, _("The phone reported the message dismissed."))
    return _back(device)
