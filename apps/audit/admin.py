"""The audit trail for compliance staff: search and filter, read-only, and the chain's check."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse

from .chain import verify_all
from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "tenant_slug", "actor_type", "actor", "action", "object_type", "request_id")
    list_filter = ("action", "actor_type", "tenant_slug")
    search_fields = ("=request_id", "=tenant_slug", "actor", "=object_id", "action")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    change_list_template = "admin/audit/auditentry/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_view)
        return [path("verify/", verify, name="audit_auditentry_verify"), *super().get_urls()]

    def verify_view(self, request):
        checked, broken = verify_all()
        if broken is None:
            self.message_user(request, f"The audit trail is intact: {checked} entries verified.", messages.SUCCESS)
        else:
            self.message_user(request, f"The audit trail is broken at {broken}.", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:audit_auditentry_changelist"))
