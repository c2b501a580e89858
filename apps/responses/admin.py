"""Stored responses in the admin: support and compliance read them, and may delete one (audited).
They are never added or edited by hand: the chain a client continues must be what it was given."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.admin_log import AuditedAdmin

from .models import StoredResponse


@admin.register(StoredResponse)
class StoredResponseAdmin(AuditedAdmin):
    list_display = ("id", "tenant", "model", "status", "previous", "created_at")
    list_filter = ("status", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("=id", "=request_id", "tenant__slug")
    readonly_fields = (
        "id", "tenant", "user_id", "key_id", "request_id", "previous", "model", "status", "created_at", "body", "turn",
    )  # fmt: skip
    fields = readonly_fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
