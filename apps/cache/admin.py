"""Cache policies in the admin. Every save or deletion reaches every process at once (the
catalogue version is bumped), so the next request already follows it."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.admin_log import AuditedAdmin
from apps.catalogue.snapshot import catalogue_changed

from .models import CachePolicy


@admin.register(CachePolicy)
class CachePolicyAdmin(AuditedAdmin):
    list_display = ("__str__", "mode", "ttl_seconds", "similarity_threshold", "max_temperature", "serve_stale",
                    "stale_seconds")  # fmt: skip
    list_filter = ("mode", "tier")
    list_select_related = ("tenant", "tier")
    search_fields = ("tenant__slug", "use_case")
    autocomplete_fields = ("tenant",)
    fieldsets = (
        ("Scope", {"fields": ("tenant", "tier", "use_case"),
                   "description": "Neither tenant nor tier: the platform's policy. A tenant's overrides its tier's."}),
        ("Policy", {"fields": ("mode", "ttl_seconds", "similarity_threshold", "max_temperature")}),
        ("When every provider fails", {"fields": ("serve_stale", "stale_seconds")}),
    )  # fmt: skip

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        catalogue_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        catalogue_changed()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        catalogue_changed()
