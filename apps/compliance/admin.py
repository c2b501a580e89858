"""The audit trail for compliance staff: search and filter, read-only, exports, the story of one
request (its usage and chat turn too, as far as the reader may see them), and the check of the
chain and its checkpoints."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.audit import exports
from apps.audit.chain import verify_all
from apps.audit.checkpoints import verify_stored
from apps.audit.models import AuditEntry
from apps.core.admin_site import ReadOnlyAdmin

from . import story


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "tenant_slug", "actor_type", "actor", "action", "object_type", "story")
    list_filter = ("action", "actor_type", "tenant_slug")
    search_fields = ("=request_id", "=tenant_slug", "actor", "=object_id", "action")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    change_list_template = "admin/audit/auditentry/change_list.html"
    actions = ["export_csv", "export_jsonl"]

    @admin.display(description="request")
    def story(self, entry: AuditEntry) -> str:
        if not entry.request_id:
            return ""
        url = reverse("admin:audit_request_story", args=[entry.request_id])
        return format_html('<a href="{}">{}</a>', url, entry.request_id)

    def _export(self, queryset, lines, content_type: str, extension: str) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            lines(queryset.order_by("id").iterator(chunk_size=2000)), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="audit.{extension}"'
        return response

    @admin.action(description="Export the selected entries as CSV")
    def export_csv(self, request, queryset):
        return self._export(queryset, exports.csv_lines, "text/csv", "csv")

    @admin.action(description="Export the selected entries as JSON Lines")
    def export_jsonl(self, request, queryset):
        return self._export(queryset, exports.jsonl_lines, "application/x-ndjson", "jsonl")

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_view)
        story = self.admin_site.admin_view(self.story_view)
        return [
            path("verify/", verify, name="audit_auditentry_verify"),
            path("request/<str:request_id>/", story, name="audit_request_story"),
            *super().get_urls(),
        ]

    def story_view(self, request, request_id: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = story.request_story(
            request_id, see_usage=request.user.has_perm("metering.view_usagerecord"),
            see_chat=request.user.has_perm("chat.view_message"),
        )  # fmt: skip
        context = {**self.admin_site.each_context(request), **found}
        context["title"] = f"Request {request_id}"
        return TemplateResponse(request, "admin/audit/request_story.html", context)

    def verify_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        checked, broken = verify_all()
        stored, problems = verify_stored()
        if broken is not None:
            self.message_user(request, f"The audit trail is broken at {broken}.", messages.ERROR)
        for problem in problems:
            self.message_user(request, f"An audit checkpoint does not hold: {problem}.", messages.ERROR)
        if broken is None and not problems:
            self.message_user(
                request,
                f"The audit trail is intact: {checked} entries verified. {stored} stored checkpoints hold.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:audit_auditentry_changelist"))
