"""Django admin for support staff (not routed by default; see pushmarketing/urls.py). Tuned
for big tables: no counts over devices or activities, raw id widgets, no secrets shown."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from devices.models import Device, DeviceActivity, Lead, MobileApp, PushCredential


@admin.register(MobileApp)
class MobileAppAdmin(admin.ModelAdmin):
    list_display = ("name", "app_type", "ios_bundle_id", "android_package", "sdk_key")
    search_fields = ("name", "sdk_key", "ios_bundle_id", "android_package")
    # Creating apps or rotating secrets goes through the app pages (audited, secret shown once).
    readonly_fields = (
        "sdk_key",
        "sdk_secret_rotated_at",
        # Identity settings go through the app page too (audited, secret shown once).
        "identity_verification_required",
        "identity_secret_rotated_at",
        "sdk_writable_lead_fields",
        "sdk_writable_custom_fields",
        "created_by",
        "created_at",
    )
    exclude = ("sdk_secret_hash", "identity_secret_encrypted")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PushCredential)
class PushCredentialAdmin(admin.ModelAdmin):
    list_display = ("app", "platform", "kind", "version", "verification", "uploaded_at")
    list_filter = ("platform", "kind", "verification")
    # The encrypted secret is never displayed; uploads go through the validated app page.
    exclude = ("secret_encrypted",)
    readonly_fields = ("app", "platform", "kind", "public_meta", "version", "uploaded_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "created_at")
    search_fields = ("email",)
    show_full_result_count = False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("installation_id", "app", "platform", "status", "push_enabled", "lead")
    list_filter = ("platform", "status", "is_test_device")
    list_select_related = ("app", "lead")
    raw_id_fields = ("app", "lead")
    search_fields = ("=installation_id",)
    exclude = ("push_token",)
    show_full_result_count = False


@admin.register(DeviceActivity)
class DeviceActivityAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "device", "lead", "action_name")
    list_filter = ("kind",)
    list_select_related = ("device", "lead")
    raw_id_fields = ("app", "device", "lead")
    show_full_result_count = False
