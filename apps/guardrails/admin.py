"""Guardrail rules in the admin. Saving or deleting one reaches every process at once (the
catalogue version is bumped), so the next request follows it."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.admin_log import AuditedAdmin
from apps.catalogue.admin import ReloadsCatalogue

from .models import GuardrailRule


@admin.register(GuardrailRule)
class GuardrailRuleAdmin(ReloadsCatalogue, AuditedAdmin):
    list_display = ("__str__", "check_name", "direction", "action", "threshold", "restore")
    list_filter = ("check_name", "direction", "action", "tier")
    list_select_related = ("tenant", "tier")
    search_fields = ("tenant__slug",)
    autocomplete_fields = ("tenant",)
    fieldsets = (
        ("Scope", {"fields": ("tenant", "tier"),
                   "description": "Neither tenant nor tier: the platform's rule. A tenant's overrides its tier's."}),
        ("Rule", {"fields": ("check_name", "direction", "action", "threshold", "entities", "restore", "judge_model")}),
        ("Patterns", {"fields": ("deny", "allow"),
                      "description": "Deny: the custom check's findings. Allow: never a finding, for any check."}),
    )  # fmt: skip
