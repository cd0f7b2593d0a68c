from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

# The lead columns an app's SDK may write unless its admin changes the list (Mobile apps → app
# → Identity). No custom field is writable until an admin names it: tiers and flags live there.
LEAD_STANDARD_FIELDS = ("first_name", "last_name", "phone", "company", "city", "country")


def default_sdk_writable_lead_fields() -> list[str]:
    return list(LEAD_STANDARD_FIELDS)


class Platform(models.TextChoices):
    IOS = "ios", _("iOS")
    ANDROID = "android", _("Android")


class MobileApp(models.Model):
    class AppType(models.TextChoices):
        SANDBOX = "sandbox", _("Sandbox")
        PRODUCTION = "production", _("Production")

    name = models.CharField(max_length=100)
    app_type = models.CharField(max_length=12, choices=AppType.choices, default=AppType.SANDBOX)
    ios_bundle_id = models.CharField("iOS bundle id", max_length=155, blank=True)
    android_package = models.CharField(max_length=155, blank=True)
    icon = models.ImageField(upload_to="app-icons/", blank=True)
    # The SDK key is public (it identifies the app); only a keyed hash of the secret is kept.
    sdk_key = models.CharField(max_length=40, unique=True)
    sdk_secret_hash = models.CharField(max_length=64)
    sdk_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Identity verification (devices.services.identity): the customer's backend signs the
    # user's identity with this secret. Unlike the SDK secret it must be readable to check an
    # HMAC, so it is encrypted (pushmarketing.core.secrets), never hashed; "" until generated.
    identity_verification_required = models.BooleanField(default=False)
    identity_secret_encrypted = models.TextField(blank=True)
    identity_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # What the SDK may write on a lead: names from LEAD_STANDARD_FIELDS, and custom field keys.
    sdk_writable_lead_fields = models.JSONField(default=default_sdk_writable_lead_fields)
    sdk_writable_custom_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PushCredential(models.Model):
    """One platform's provider credentials for an app, encrypted at rest (pushmarketing.core.secrets).

    `secret_encrypted` holds the .p8 key, the .p12 converted to PEM (cert + key), or the
    service-account JSON. `public_meta` holds what is safe to show (key id, team id, project
    id, client email, certificate subject and expiry); never a secret.
    """

    class Kind(models.TextChoices):
        APNS_TOKEN = "apns_token", _("APNs auth key (.p8)")
        APNS_CERTIFICATE = "apns_certificate", _("APNs certificate (.p12)")
        FCM_SERVICE_ACCOUNT = "fcm_service_account", _("Firebase service account (JSON)")

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("Not verified yet")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")

    app = models.ForeignKey(MobileApp, on_delete=models.CASCADE, related_name="credentials")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    secret_encrypted = models.TextField()
    public_meta = models.JSONField(default=dict, blank=True)
    # Bumped on every upload so worker processes rebuild their provider clients.
    version = models.PositiveIntegerField(default=1)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now=True)
    verification = models.CharField(
        max_length=12, choices=Verification.choices, default=Verification.UNVERIFIED
    )
    verification_reason = models.CharField(max_length=300, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "platform"], name="one_credential_per_app_platform"
            )
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.get_kind_display()}"


class Lead(models.Model):
    """A person. Standard fields are columns; anything else lives in `custom_fields`.

    Found by `external_id` (the customer's user id, unique across the install) or e-mail
    (unique case-insensitively when set); a lead has at least one of them."""

    email = models.EmailField(max_length=254, blank=True)
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=150, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # The app whose identity-verified call first associated this lead: other apps' calls
    # may still associate it, but change its fields only when verified for the same identity.
    verified_by_app = models.ForeignKey(
        MobileApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="lead_email_unique_ci"
            ),
            models.CheckConstraint(
                condition=~Q(email="") | Q(external_id__isnull=False),
                name="lead_has_email_or_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.email or f"external id {self.external_id}"


class Device(models.Model):
    """One installation of an app. Dead devices are deactivated, never deleted."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        TOKEN_INVALID = "token_invalid", _("Token invalid")
        UNREGISTERED = "unregistered", _("Unregistered")

    # No single-column indexes on the foreign keys: the constraints and indexes in Meta lead
    # with them, and every index is one more write on each registration.
    app = models.ForeignKey(
        MobileApp, on_delete=models.CASCADE, related_name="devices", db_index=False
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    installation_id = models.CharField(max_length=64)
    push_token = models.CharField(max_length=255, blank=True)
    token_updated_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
        db_index=False,
    )
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    push_enabled = models.BooleanField(default=True)
    is_test_device = models.BooleanField(default=False)
    test_device_name = models.CharField(max_length=80, blank=True)
    locale = models.CharField(max_length=35, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    app_version = models.CharField(max_length=40, blank=True)
    os_version = models.CharField(max_length=40, blank=True)
    device_model = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=120, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "installation_id"], name="device_installation_unique"
            ),
            models.UniqueConstraint(
                fields=["app", "platform", "push_token"],
                condition=Q(status="active") & ~Q(push_token=""),
                name="device_active_token_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["app", "platform", "status", "push_enabled"], name="device_audience_idx"
            ),
            # Anonymous devices (before any login) are never looked up by lead, and every
            # first open is one: they get no entry.
            models.Index(
                fields=["lead"], name="device_lead_idx", condition=models.Q(lead__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.installation_id}"

    @property
    def token_prefix(self) -> str:
        return self.push_token[:8]

    @property
    def has_opened(self) -> bool:
        return self.first_opened_at is not None


class DeviceActivity(models.Model):
    """Append-only record of what a device did. Feeds triggers, filters, logs and tap metrics."""

    class Kind(models.TextChoices):
        INSTALLED = "installed", _("Installed (first open)")
        OPENED = "opened", _("Opened app")
        SESSION = "session", _("Session")
        CUSTOM_ACTION = "custom_action", _("App activity")
        PUSH_REGISTERED = "push_registered", _("Registered for push")
        PUSH_RECEIVED = "push_received", _("Push received")
        PUSH_TAPPED = "push_tapped", _("Push tapped")
        # Written by the in-app add-on (inapp.services.events), never accepted from the
        # activities endpoint: the lead activity log shows them beside pushes.
        INAPP_SHOWN = "inapp_shown", _("In-app message shown")
        INAPP_TAPPED = "inapp_tapped", _("In-app message tapped")
        INAPP_DISMISSED = "inapp_dismissed", _("In-app message dismissed")

    # As on Device: the Meta indexes lead with each foreign key, so no single-column ones.
    # No database FK checks either: every row is written by a statement that has just
    # written or read its device, lead and app (the register CTE, activities, feedback), and
    # the checks were a row lock per row per key on the hottest insert (3 rows per first
    # open, all locking the same app row); Django's on_delete still cascades.
    # Deleting an app deletes its activities through its devices (Device.app cascades, and an
    # activity's app is always its device's app), so the app key needs no cascade of its own
    # and no index: an index on it was a fourth entry per row on the hottest insert that no
    # query read.
    app = models.ForeignKey(
        MobileApp,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,
        db_constraint=False,
    )
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Marketo limits custom action names to under 20 characters.
    action_name = models.CharField(max_length=19, blank=True)
    action_type = models.CharField(max_length=60, blank=True)
    details = models.CharField(max_length=255, blank=True)
    metric = models.FloatField(null=True, blank=True)
    length_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The delivery a received/tapped push came with (campaigns.Delivery id; a plain integer so
    # the device registry does not depend on the campaigns app).
    delivery_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["device", "-occurred_at"], name="activity_device_idx"),
            # Only activities of a known lead: a lead's history is the one read by lead, and an
            # anonymous first open writes three rows that would each add an entry.
            models.Index(
                fields=["lead", "-occurred_at"],
                name="activity_lead_idx",
                condition=models.Q(lead__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.device_id} {self.occurred_at:%Y-%m-%d %H:%M}"


class TestDevicePairing(models.Model):
    """A pairing link / QR code an admin hands to a phone to make it a named test device."""

    NAME_MAX_LENGTH = 80

    app = models.ForeignKey(MobileApp, on_delete=models.CASCADE, related_name="pairings")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app})"


class TriggerOutbox(models.Model):
    """Activities waiting for trigger evaluation: one row per activity a trigger listens for,
    written in the transaction (on PostgreSQL, the statement) that records the activity.

    The trigger pump (campaigns.trigger_pump) deletes rows in batches as it evaluates them, in
    one transaction, so each activity is evaluated exactly once however many workers drain.
    A plain integer, not a foreign key: the hot insert checks no constraint and an activity
    purged before evaluation simply matches nothing."""

    activity_id = models.BigIntegerField()
    # Set when the activity waited for its device's lead for one campaign (TriggerWait): it is
    # evaluated again for that campaign only. Null: every listening campaign.
    campaign_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"activity {self.activity_id}"


class TriggerWait(models.Model):
    """An activity a trigger campaign waits to evaluate until its device has a lead: a first
    open comes before the login, and "Welcome" should reach whoever logs in whether that takes
    1 s or 50 s. Associating a lead moves the device's waits back into the outbox (for their
    campaign only); past `until` they are dropped, as the device was never targetable."""

    activity_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    device_id = models.BigIntegerField(db_index=True)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"activity {self.activity_id} waits for a lead (campaign {self.campaign_id})"
