"""The tool registry in the admin. Staff add HTTP tools and MCP servers (whose tools import as
drafts), approve a tool someone else created or changed (the approve permission, four eyes),
publish and disable tools, allow-list private destinations, and name the tools a tenant's
`auto` requests may use. Every transition is an audit entry (apps/tools/lifecycle.py)."""

from __future__ import annotations

import ipaddress

from django import forms
from django.contrib import admin, messages
from django.db import models

from apps.audit.admin_log import AuditedAdmin

from . import lifecycle, mcp_client, registry
from .builtins import ToolFailure
from .models import AgentPolicy, AllowedDestination, McpServer, Tool, ToolKind, ToolStatus
from .schemas import schema_problem


def https_urls(field, **kwargs):
    """A URL typed without a scheme is https (Django 6's default, chosen now)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ToolForm(forms.ModelForm):
    class Meta:
        formfield_callback = https_urls
        model = Tool
        fields = ("name", "kind", "description", "input_schema", "url", "mcp_server", "remote_name", "timeout_seconds",
                  "max_response_bytes", "cost_usd", "all_tiers", "tiers", "tenants")  # fmt: skip

    def clean_input_schema(self):
        schema = self.cleaned_data["input_schema"]
        problem = schema_problem(schema)
        if problem is not None:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return schema

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == ToolKind.HTTP and not cleaned.get("url"):
            self.add_error("url", "An HTTP tool needs the URL it is called at.")
        if cleaned.get("kind") == ToolKind.MCP and not cleaned.get("mcp_server"):
            self.add_error("mcp_server", "An MCP tool needs its server.")
        return cleaned


class Announced(AuditedAdmin):
    """Every save (once its many-to-many rows are saved too) and every deletion tells every
    process to reload what it caches of these rows: an epoch bumped in the same transaction."""

    announce = staticmethod(registry.tools_changed)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        self.announce()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        self.announce()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        self.announce()


@admin.register(Tool)
class ToolAdmin(Announced):
    form = ToolForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "kind", "status", "grant", "created_by", "approved_by", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("name", "description")
    filter_horizontal = ("tiers", "tenants")
    readonly_fields = ("status", "secret", "created_by", "changed_by", "approved_by", "approved_at", "editors",
                       "created_at", "updated_at")  # fmt: skip
    WHERE = ("url", "secret", "mcp_server", "remote_name", "timeout_seconds", "max_response_bytes", "cost_usd")
    REVIEW = ("created_by", "changed_by", "editors", "approved_by", "approved_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "status", "description", "input_schema")}),
        ("Where it runs", {"fields": WHERE}),
        ("Who may call it", {"fields": ("all_tiers", "tiers", "tenants")}),
        ("Review", {"fields": REVIEW}),
    )
    actions = ("approve", "publish", "disable")

    @admin.display(description="granted to")
    def grant(self, tool: Tool) -> str:
        return "every tier" if tool.all_tiers else "listed tiers and tenants"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.kind == ToolKind.BUILTIN:  # its code defines it; staff grant or disable it
            fields += ["name", "kind", "description", "input_schema", "url", "mcp_server", "remote_name"]
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":  # built-ins are registered in code, never added by hand
            kwargs["choices"] = [(value, label) for value, label in ToolKind.choices if value != ToolKind.BUILTIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj: Tool, form, change: bool) -> None:
        if not change:
            obj.created_by = obj.changed_by = request.user
            obj.status, obj.editors = ToolStatus.DRAFT, [request.user.pk]
            obj.save()
            lifecycle.recorded(obj, "tool.create", request.user)
            return
        lifecycle.changed(obj, request.user, form.changed_data)

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("tools.approve_tool")

    @admin.action(description="Approve the selected tools (four eyes)", permissions=["approve"])
    def approve(self, request, queryset) -> None:
        self._transition(request, queryset, lifecycle.approve, "approved")

    @admin.action(description="Publish the selected tools (approved → live)", permissions=["change"])
    def publish(self, request, queryset) -> None:
        self._transition(request, queryset, lifecycle.publish, "live")

    @admin.action(description="Disable the selected tools", permissions=["change"])
    def disable(self, request, queryset) -> None:
        self._transition(request, queryset, lifecycle.disable, "disabled")

    def _transition(self, request, queryset, transition, done: str) -> None:
        moved = 0
        for tool in queryset:
            try:
                transition(tool, request.user)
                moved += 1
            except lifecycle.TransitionRefused as refused:
                self.message_user(request, str(refused)[0].upper() + str(refused)[1:] + ".", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} tool(s) {done}.", messages.SUCCESS)


@admin.register(McpServer)
class McpServerAdmin(Announced):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "url", "tool_count", "imported_at", "last_error")
    readonly_fields = ("imported_at", "last_error", "created_at")
    actions = ("import_tools",)

    @admin.display(description="tools")
    def tool_count(self, server: McpServer) -> int:
        return server.tools.count()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.base_fields["bearer_token"].widget = forms.PasswordInput(render_value=True)
        return form

    def save_model(self, request, obj: McpServer, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "url" in form.changed_data:  # its tools now run elsewhere: each needs a new approval
            for tool in obj.tools.all():
                lifecycle.changed(tool, request.user, ["mcp_server"])

    @admin.action(description="Import the selected servers' tools (as drafts)", permissions=["change"])
    def import_tools(self, request, queryset) -> None:
        for server in queryset:
            try:
                new, changed = mcp_client.import_tools(server, request.user)
            except ToolFailure as failure:
                self.message_user(request, f"{server.name}: the import failed: {failure}", messages.ERROR)
                continue
            self.message_user(
                request, f"{server.name}: {new} new tool(s), {changed} changed; each waits for approval.",
                messages.SUCCESS,
            )  # fmt: skip


class DestinationForm(forms.ModelForm):
    class Meta:
        model = AllowedDestination
        fields = ("network", "port", "note")

    def clean_network(self):
        network = self.cleaned_data["network"].strip()
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise forms.ValidationError("Give an address (10.0.4.7) or a network (10.0.4.0/24).") from None
        return network


@admin.register(AllowedDestination)
class AllowedDestinationAdmin(Announced):
    form = DestinationForm
    list_display = ("network", "port", "note", "created_at")


@admin.register(AgentPolicy)
class AgentPolicyAdmin(Announced):
    announce = staticmethod(registry.policies_changed)
    list_display = ("tenant", "use_case", "max_steps")
    list_select_related = ("tenant",)
    filter_horizontal = ("tools",)
    search_fields = ("tenant__slug", "use_case")
