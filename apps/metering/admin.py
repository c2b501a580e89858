"""Metering in the admin: the monthly ledger, usage records and alerts, all read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.functional import cached_property

from .models import Alert, Budget, UsageRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money rows change only through the ledger, never by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EstimatedCountPaginator(Paginator):
    """Usage tables grow fast: PostgreSQL's estimate instead of COUNT(*) on the unfiltered list."""

    @cached_property
    def count(self) -> int:
        query = self.object_list.query
        if not query.where and self.object_list.db == "default":
            from django.db import connection

            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table]
                    )
                    row = cursor.fetchone()
                    if row and row[0] > 10_000:
                        return row[0]
        return super().count


@admin.register(Budget)
class BudgetAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "period", "spent_usd", "spent_tokens", "reserved_usd", "reserved_tokens")
    list_filter = ("period",)
    list_select_related = ("tenant",)
    search_fields = ("tenant__slug",)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "tenant", "model", "provider", "endpoint", "tokens_in", "tokens_out", "cost_usd",
        "latency_ms", "outcome", "stream",
    )  # fmt: skip
    list_filter = ("outcome", "endpoint", "model", "stream", ("tenant", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("tenant", "key")
    search_fields = ("request_id", "tenant__slug", "key__prefix")
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "tenant", "kind", "period", "message", "acknowledged_at")
    list_filter = ("kind", "acknowledged_at", ("tenant", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("tenant",)
    search_fields = ("tenant__slug", "message")
    readonly_fields = ("tenant", "kind", "period", "message", "created_at", "acknowledged_at")
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset) -> None:
        updated = queryset.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
        self.message_user(request, f"Acknowledged {updated} alert(s).", messages.SUCCESS)
