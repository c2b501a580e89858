"""Cache policies and purges in the admin. Every save or deletion reaches every process at once
(the catalogue version is bumped, ReloadsCatalogue), so the next request already follows it."""

from __future__ import annotations

import time

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from apps.audit.admin_log import AuditedAdmin
from apps.catalogue.admin import ReloadsCatalogue
from apps.tenancy.models import Tenant

from . import store
from .models import CachePolicy, CachePurge

ENTRIES_SHOWN = 500


@admin.register(CachePolicy)
class CachePolicyAdmin(ReloadsCatalogue, AuditedAdmin):
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

    def get_urls(self):
        view = self.admin_site.admin_view(self.entries_view)
        return [path("entries/", view, name="cache_entries"), *super().get_urls()]

    def entries_view(self, request):
        """A tenant's cache entries, newest first, with their hit counts (read from the hot store)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant = Tenant.objects.filter(slug=request.GET.get("tenant", "")).first()
        entries, now = [], time.time()
        if tenant is not None:
            for item in store.tenant_entries(tenant.pk, ENTRIES_SHOWN):
                age = int(item.entry.age(now))
                entries.append({**{f: getattr(item, f) for f in ("digest", "entry", "hits", "size")},
                                "age": age, "fresh_for": max(item.entry.ttl - age, 0)})  # fmt: skip
        context = {
            **self.admin_site.each_context(request),
            "title": "Cache entries", "opts": self.model._meta,
            "tenants": Tenant.objects.order_by("slug"), "tenant": tenant, "entries": entries,
            "hits": sum(item["hits"] for item in entries), "capped": len(entries) >= ENTRIES_SHOWN,
        }  # fmt: skip
        return TemplateResponse(request, "admin/cache/entries.html", context)


@admin.register(CachePurge)
class CachePurgeAdmin(ReloadsCatalogue, AuditedAdmin):
    """Adding a purge is purging: the tenant's matching entries are never served again."""

    list_display = ("tenant", "use_case", "model", "created_at", "created_by")
    list_filter = ("tenant",)
    list_select_related = ("tenant", "created_by")
    autocomplete_fields = ("tenant",)
    fields = ("tenant", "use_case", "model")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a purge cannot be undone: its entries stay unserved until they expire

    def save_model(self, request, obj, form, change) -> None:
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
