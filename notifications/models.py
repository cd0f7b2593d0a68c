from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from devices.models import MobileApp


class PushNotification(models.Model):
    """A push message. The columns are the working copy the composer edits; `approved_content`
    is the frozen copy campaigns send (notifications.content.PushContent as a dict). Editing an
    approved push changes only the working copy until it is approved again."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_DRAFT = "approved_with_draft", _("Approved (draft changes pending)")

    class TapAction(models.TextChoices):
        APP_HOME = "app_home", _("Open the app (home)")
        DEEP_LINK = "deep_link", _("Open a deep link in the app")
        URL = "url", _("Open a web page")

    class Priority(models.TextChoices):
        HIGH = "high", _("High (deliver now)")
        NORMAL = "normal", _("Normal (may be delayed to save battery)")

    class AndroidSound(models.TextChoices):
        DEFAULT = "default", _("Default")
        NONE = "none", _("None")

    app = models.ForeignKey(MobileApp, on_delete=models.PROTECT, related_name="notifications")
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
    android_enabled = models.BooleanField(default=True)
    ios_enabled = models.BooleanField(default=True)
    title = models.CharField(max_length=200, blank=True)
    subtitle = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    image = models.ImageField(upload_to="push-images/", blank=True)
    tap_action = models.CharField(
        max_length=12, choices=TapAction.choices, default=TapAction.APP_HOME
    )
    tap_uri = models.CharField(max_length=2000, blank=True)
    ios_sound = models.BooleanField(default=True)
    android_sound = models.CharField(
        max_length=8, choices=AndroidSound.choices, default=AndroidSound.DEFAULT
    )
    badge = models.PositiveIntegerField(null=True, blank=True)
    custom_data = models.JSONField(default=dict, blank=True)
    ttl_seconds = models.PositiveIntegerField(default=4 * 7 * 24 * 3600)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.HIGH)
    collapse_key = models.CharField(max_length=64, blank=True)
    android_channel_id = models.CharField(max_length=100, blank=True)

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
        indexes = [models.Index(fields=["app", "status"], name="notification_app_status_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.approved_content is not None


class NotificationEvent(models.Model):
    """History of a push: created, edited, approved, cloned, sample sent."""

    notification = models.ForeignKey(
        PushNotification, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.notification_id}"


class PushTranslation(models.Model):
    """One language of a push's working copy: the texts, and optionally its own image and tap
    link (blank keeps the default's). Approval freezes every translation into the push's
    `approved_content` with the default content."""

    notification = models.ForeignKey(
        PushNotification, on_delete=models.CASCADE, related_name="translations"
    )
    # Stored normalised (notifications.locales): `fr` or `fr_CA`.
    locale = models.CharField(_("locale"), max_length=5)
    title = models.CharField(_("title"), max_length=200, blank=True)
    subtitle = models.CharField(_("subtitle"), max_length=200, blank=True)
    message = models.TextField(_("message"))
    image = models.ImageField(_("image"), upload_to="push-images/", blank=True)
    tap_uri = models.CharField(_("tap link"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "locale"], name="push_translation_one_per_locale"
            )
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.locale}"
