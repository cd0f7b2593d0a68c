"""Django admin for the core models (not routed by default). The audit log is read-only."""

from __future__ import annotations

from django.contrib import admin

from pushmarketing.core.models import AddOn, ApiToken, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "summary")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "summary")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    list_display = ("code", "enabled", "changed_by", "changed_at")
    # Switching goes through Settings so the change is audited.
    readonly_fields = ("code", "enabled", "changed_by", "changed_at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    exclude = ("token_hash",)
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")
