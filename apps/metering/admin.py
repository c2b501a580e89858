"""Metering in the admin: the monthly ledger, usage records and alerts, all read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property

from apps.audit.admin_log import AuditedAdmin
from apps.core.admin_site import ReadOnlyAdmin

from . import reports
from .models import Alert, Budget, UsageRecord
from .reports import ReportFilter

# Daily spend over a short range reads best as bars (one day is a bar, not a lone dot); from a
# month of days on, a line shows the trend without a comb of thin bars.
LINE_CHART_FROM_DAYS = 32


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
class BudgetAdmin(ReadOnlyAdmin):  # money rows change only through the ledger, never by hand
    list_display = ("tenant", "period", "spent_usd", "spent_tokens")
    list_filter = ("period",)
    list_select_related = ("tenant",)
    search_fields = ("tenant__slug",)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    change_list_template = "admin/metering/usagerecord/change_list.html"

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

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("report/", view(self.report_view), name="metering_usage_report"),
            path("report.csv", view(self.report_csv), name="metering_usage_report_csv"),
            *super().get_urls(),
        ]

    def _filter(self, request) -> ReportFilter:
        form = ReportFilter(request.GET)
        form.is_valid()
        return form

    def report_view(self, request):
        """Usage by tenant, day, model and key, with charts, over a date range."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._filter(request)
        data = reports.report(**form.cleaned_data) if not form.errors else None
        chart = None
        if data:
            chart = {
                "daily_type": "bar" if len(data["by_day"]) < LINE_CHART_FROM_DAYS else "line",
                "days": [row["group"] for row in data["by_day"]],
                "daily_spend": [float(row["spend"]) for row in data["by_day"]],
                "models": [row["group"] for row in data["by_model"]],
                "model_spend": [float(row["spend"]) for row in data["by_model"]],
            }
        context = {
            **self.admin_site.each_context(request),
            "title": "Usage report",
            "opts": self.model._meta,
            "form": form,
            "report": data,
            "chart": chart,
            "csv_query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/metering/usage_report.html", context)

    def report_csv(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._filter(request)
        if form.errors:
            return HttpResponseBadRequest("; ".join(e for errors in form.errors.values() for e in errors))
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        response = StreamingHttpResponse(
            reports.csv_rows(reports.records_for(**form.cleaned_data)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="usage-{start}-{end}.csv"'
        return response


@admin.register(Alert)
class AlertAdmin(AuditedAdmin):
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
