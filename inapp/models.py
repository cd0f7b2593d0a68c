"""In-app messages: what the app shows inside itself (Marketo's second Mobile Engagement add-on).

An `InAppMessage` is the content (layout, text, image, buttons, per-platform tap actions),
approved like a push; an `InAppCampaign` says who sees it, when, on which trigger and how often.
`InAppDisplayState` is one row per (campaign, device) holding what the display limit needs, so
"what should I show now?" reads one indexed row per candidate instead of counting events;
`InAppEvent` is the append-only history the dashboard counts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from devices.models import Device, Lead, MobileApp, Platform

# Marketo limits custom action names to under 20 characters (as DeviceActivity.action_name).
ACTION_NAME_MAX_LENGTH = 19
MAX_BUTTONS = 2


class Layout(models.TextChoices):
    """Three pop-up and three full-screen layouts, as Marketo offers."""

    POPUP_TEXT = "popup_text", _("Pop-up: text and buttons")
    POPUP_IMAGE_TEXT = "popup_image_text", _("Pop-up: image, text and buttons")
    POPUP_IMAGE = "popup_image", _("Pop-up: image only")
    FULLSCREEN_TEXT = "fullscreen_text", _("Full screen: text and buttons")
    FULLSCREEN_IMAGE_TEXT = "fullscreen_image_text", _("Full screen: image, text and buttons")
    FULLSCREEN_IMAGE = "fullscreen_image", _("Full screen: image only")


FULLSCREEN_LAYOUTS = frozenset(
    {Layout.FULLSCREEN_TEXT, Layout.FULLSCREEN_IMAGE_TEXT, Layout.FULLSCREEN_IMAGE}
)
IMAGE_LAYOUTS = frozenset(
    {
        Layout.POPUP_IMAGE_TEXT,
        Layout.POPUP_IMAGE,
        Layout.FULLSCREEN_IMAGE_TEXT,
        Layout.FULLSCREEN_IMAGE,
    }
)
TEXT_LAYOUTS = frozenset(
    {
        Layout.POPUP_TEXT,
        Layout.POPUP_IMAGE_TEXT,
        Layout.FULLSCREEN_TEXT,
        Layout.FULLSCREEN_IMAGE_TEXT,
    }
)


class TapAction(models.TextChoices):
    """What a tap on part of a message does, set per platform (inapp.content validates)."""

    NONE = "none", _("Nothing")
    DISMISS = "dismiss", _("Dismiss the message")
    DEEP_LINK = "deep_link", _("Open a deep link in the app")
    URL = "url", _("Open a web page")


# The parts of a message a tap action can be set on (buttons carry their own).
TAP_TARGETS = ("text", "image", "background")


def default_tap_actions() -> dict[str, dict[str, dict[str, str]]]:
    """{"text"|"image"|"background": {"ios"|"android": {"action": TapAction, "uri": str}}}."""
    return {
        target: {platform: {"action": TapAction.NONE.value, "uri": ""} for platform in Platform}
        for target in TAP_TARGETS
    }


def default_buttons() -> list[dict[str, object]]:
    """[{"label": str, "ios": {"action", "uri"}, "android": {"action", "uri"}}], 0-2 items;
    a button's action defaults to dismiss, as in Marketo."""
    return [
        {
            "label": "OK",
            **{platform: {"action": TapAction.DISMISS.value, "uri": ""} for platform in Platform},
        }
    ]


class InAppMessage(models.Model):
    """The content. Its columns are the working copy the composer edits; `approved_content` is
    the frozen copy campaigns show (inapp.content.InAppContent as a dict), so editing an
    approved message changes nothing on phones until it is approved again."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_DRAFT = "approved_with_draft", _("Approved (draft changes pending)")

    app = models.ForeignKey(
        MobileApp,
        on_delete=models.PROTECT,
        related_name="inapp_messages",
        verbose_name=_("mobile app"),
    )
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.DRAFT
    )
    layout = models.CharField(
        _("layout"), max_length=24, choices=Layout.choices, default=Layout.POPUP_TEXT
    )
    # Title and body may hold lead tokens ({{lead.First Name:default=there}}), as pushes do.
    title = models.CharField(_("title"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    image = models.ImageField(_("image"), upload_to="inapp-images/", blank=True)
    buttons = models.JSONField(_("buttons"), default=default_buttons, blank=True)
    tap_actions = models.JSONField(_("tap actions"), default=default_tap_actions, blank=True)
    # Colours as #rrggbb; the composer warns when text and background contrast too little.
    background_color = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    text_color = models.CharField(_("text colour"), max_length=7, default="#1f2328")
    button_color = models.CharField(_("button colour"), max_length=7, default="#0b5cad")
    button_text_color = models.CharField(_("button text colour"), max_length=7, default="#ffffff")
    close_button = models.BooleanField(_("close button"), default=True)

    approved_content = models.JSONField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("in-app message")
        verbose_name_plural = _("in-app messages")
        indexes = [models.Index(fields=["app", "status"], name="inapp_message_app_status_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.approved_content is not None

    @property
    def is_fullscreen(self) -> bool:
        return self.layout in FULLSCREEN_LAYOUTS

    @property
    def has_image_slot(self) -> bool:
        return self.layout in IMAGE_LAYOUTS

    @property
    def has_text_slot(self) -> bool:
        return self.layout in TEXT_LAYOUTS


class InAppCampaign(models.Model):
    """Who sees a message, when and how often. Status changes only through the table in
    inapp.services.campaigns; `stopped` is final."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")

    class Trigger(models.TextChoices):
        # Fires from the second open: the first open is the SDK's initialisation (Marketo).
        APP_OPEN = "app_open", _("App open (from the second open)")
        CUSTOM_ACTION = "custom_action", _("A custom action the app reports")

    class DisplayLimit(models.TextChoices):
        ONCE_PER_SESSION = "once_per_session", _("Once per session")
        UNTIL_TAPPED = "until_tapped", _("Every time until tapped")
        EVERY_TIME = "every_time", _("Every time")

    app = models.ForeignKey(
        MobileApp,
        on_delete=models.PROTECT,
        related_name="inapp_campaigns",
        verbose_name=_("mobile app"),
    )
    name = models.CharField(_("name"), max_length=120)
    message = models.ForeignKey(
        InAppMessage,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("message"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # Filter rows of campaigns.audience (the same builder, with NOT forms).
    audience = models.JSONField(_("audience"), default=list, blank=True)
    # Null start: live as soon as approved (Marketo waits 15-30 minutes; we do not).
    starts_at = models.DateTimeField(_("start"), null=True, blank=True)
    ends_at = models.DateTimeField(_("end"), null=True, blank=True)
    trigger = models.CharField(
        _("display trigger"), max_length=16, choices=Trigger.choices, default=Trigger.APP_OPEN
    )
    trigger_action_name = models.CharField(
        _("custom action name"), max_length=ACTION_NAME_MAX_LENGTH, blank=True
    )
    display_limit = models.CharField(
        _("display limit"),
        max_length=20,
        choices=DisplayLimit.choices,
        default=DisplayLimit.ONCE_PER_SESSION,
    )
    # Between overlapping live campaigns the highest priority shows (ties: the newest).
    priority = models.PositiveSmallIntegerField(_("priority"), default=5)
    # Optional cap across all in-app messages of the app: skip this campaign when the device
    # already saw `frequency_cap_count` in-app messages in the last `frequency_cap_hours`.
    frequency_cap_count = models.PositiveSmallIntegerField(
        _("frequency cap (messages)"), null=True, blank=True
    )
    frequency_cap_hours = models.PositiveSmallIntegerField(
        _("frequency cap (hours)"), null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("in-app campaign")
        verbose_name_plural = _("in-app campaigns")
        indexes = [models.Index(fields=["app", "status"], name="inapp_campaign_app_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="inapp_campaign_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class InAppDisplayState(models.Model):
    """What the display limit needs for one campaign on one device, kept by the event service:
    the last impression (once per session: none since the session began) and the first tap
    (until tapped). One row per pair, read by primary-key-sized lookups on the hot path."""

    campaign = models.ForeignKey(
        InAppCampaign, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    impressions = models.PositiveIntegerField(default=0)
    last_impression_at = models.DateTimeField(null=True, blank=True)
    tapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "device"], name="inapp_display_state_unique"
            )
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} device {self.device_id}"


class InAppEvent(models.Model):
    """Append-only: what the SDK reported about a shown message. Feeds the dashboard, the CSV
    export and the frequency cap."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression", _("Impression")
        TAP = "tap", _("Tap")
        DISMISS = "dismiss", _("Dismiss")

    app = models.ForeignKey(MobileApp, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        InAppCampaign, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    message = models.ForeignKey(
        InAppMessage, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What was tapped: "button1", "button2", or a tap target (text, image, background).
    target = models.CharField(max_length=12, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["campaign", "kind", "occurred_at"], name="inapp_event_campaign_idx"
            ),
            models.Index(fields=["device", "kind", "occurred_at"], name="inapp_event_device_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} campaign {self.campaign_id} device {self.device_id}"
