"""A tool's life cycle, each transition an audit entry committed with it.

draft ─approve─▶ approved ─publish─▶ live ─disable─▶ disabled ─publish─▶ live
  ▲                                                         │
  └────────── a change to what it does or who may call it ──┘ (from any state)

Approval takes four eyes: a staff member with `tools.approve_tool` who neither created the tool
nor changed what it does since its last approval, nor changed it last. Built-ins ship approved;
MCP tools arrive as drafts."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.audit.trail import record_change

from . import registry
from .models import Tool, ToolKind, ToolStatus
from .schemas import schema_problem

# What a tool does and who may call it: a change to any of these needs a new approval. The
# description is one of them: a model reads it as an instruction ("tool poisoning").
REVIEWED = frozenset(
    {"name", "description", "input_schema", "kind", "url", "mcp_server", "remote_name", "all_tiers", "tiers",
     "tenants"}
)  # fmt: skip


class TransitionRefused(Exception):
    pass


def recorded(tool: Tool, action: str, by, extra: dict | None = None) -> None:
    """The audit entry of a transition, and the signal that makes every process reload the registry."""
    payload = {"tool": tool.name, "kind": tool.kind, "status": tool.status, **(extra or {})}
    record_change(action, tenant=None, obj=tool, payload=payload, by=by)
    registry.tools_changed()


@transaction.atomic
def changed(tool: Tool, by, fields) -> None:
    """Save a change staff made; one to a reviewed field sends the tool back to draft."""
    reviewed = sorted(set(fields) & REVIEWED)
    if reviewed:
        tool.status, tool.approved_by, tool.approved_at = ToolStatus.DRAFT, None, None
        if by is not None:
            tool.editors = sorted({*tool.editors, by.pk})
    tool.changed_by = by
    tool.save()
    recorded(tool, "tool.change", by, {"fields": sorted(fields), "needs_approval": bool(reviewed)})


def may_approve(tool: Tool, by) -> str | None:
    """Why `by` may not approve `tool`; None when they may."""
    if not by.has_perm("tools.approve_tool"):
        return "approving a tool needs the 'approve tool' permission"
    if tool.status != ToolStatus.DRAFT and not (tool.status == ToolStatus.DISABLED and tool.approved_at is None):
        return f"only a draft can be approved; '{tool.name}' is {tool.get_status_display().lower()}"
    if by.pk in tool.editors or by.pk == tool.changed_by_id:
        return f"'{tool.name}' needs a second person: whoever created or changed a tool cannot approve it"
    problem = schema_problem(tool.input_schema)
    if problem is not None:
        return f"'{tool.name}' cannot be approved: {problem}"
    if tool.kind == ToolKind.HTTP and not tool.url:
        return f"'{tool.name}' is an HTTP tool without a URL"
    return None


@transaction.atomic
def approve(tool: Tool, by) -> None:
    refused = may_approve(tool, by)
    if refused is not None:
        raise TransitionRefused(refused)
    tool.status, tool.approved_by, tool.approved_at, tool.editors = ToolStatus.APPROVED, by, timezone.now(), []
    tool.save(update_fields=["status", "approved_by", "approved_at", "editors", "updated_at"])
    recorded(tool, "tool.approve", by)


@transaction.atomic
def publish(tool: Tool, by) -> None:
    """Approved (or disabled, and unchanged since its approval) → live."""
    if tool.status not in (ToolStatus.APPROVED, ToolStatus.DISABLED) or tool.approved_at is None:
        raise TransitionRefused(f"'{tool.name}' must be approved before it goes live")
    tool.status = ToolStatus.LIVE
    tool.save(update_fields=["status", "updated_at"])
    recorded(tool, "tool.publish", by)


@transaction.atomic
def disable(tool: Tool, by) -> None:
    if tool.status == ToolStatus.DISABLED:
        raise TransitionRefused(f"'{tool.name}' is already disabled")
    tool.status = ToolStatus.DISABLED
    tool.save(update_fields=["status", "updated_at"])
    recorded(tool, "tool.disable", by)
