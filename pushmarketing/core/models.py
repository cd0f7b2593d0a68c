from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AddOn(models.Model):
    """A paid add-on an admin switches on. Nothing push-related is sent while it is off."""

    class Code(models.TextChoices):
        MOBILE_PUSH = "mobile_push", _("Mobile Push")
        IN_APP_MESSAGES = "in_app_messages", _("In-app messages")

    code = models.CharField(max_length=40, choices=Code.choices, unique=True)
    enabled = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({'on' if self.enabled else 'off'})"


class AuditEntry(models.Model):
    """Who did what, when. Written by services, never by views."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class ApiToken(models.Model):
    """A per-user management API token. Only a keyed hash is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RateCounter(models.Model):
    """One rate limit's count in its current window, where the cache is not Redis
    (pushmarketing.core.throttling updates it in one atomic statement)."""

    name = models.CharField(max_length=255, primary_key=True)
    window_id = models.BigIntegerField()
    hits = models.BigIntegerField()
    expires_at = models.BigIntegerField(db_index=True)  # Unix seconds

    def __str__(self) -> str:
        return self.name


class UserPreference(models.Model):
    """A user's own UI settings. `language` stays blank until the user picks one: until then the
    browser's Accept-Language decides (pushmarketing.core.locale)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or 'browser'}"
