"""The tools a caller may use: live, and granted to its tier or tenant. Read from the database on
each run (approvals and disables take effect at once). The auto pipeline's policies are cached per
process, and dropped when staff change one (an epoch: every process sees it within a second)."""

from __future__ import annotations

import time

from django.db.models import Q

from apps.core import epochs
from apps.core.db import in_db
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest
from apps.tenancy.principal import Principal

from .execute import ToolSpec
from .models import AgentPolicy, Tool, ToolStatus

POLICY_SECONDS = 60.0
POLICY_EPOCH = "agent-policies"
_policies: dict[int, tuple[float, dict[str, tuple[list[str], int]]]] = {}
_policy_watch = epochs.Watch(POLICY_EPOCH)


def policies_changed() -> None:
    """Call inside the transaction that changed an AgentPolicy."""
    epochs.bump(POLICY_EPOCH)


def _spec(tool: Tool) -> ToolSpec:
    server = tool.mcp_server
    return ToolSpec(
        tool.name, tool.description, tool.input_schema, tool.kind, tool.timeout_seconds, tool.max_response_bytes,
        tool.cost_usd, tool.url, tool.secret, tool.remote_name, server.url if server else "",
        server.bearer_token if server else "",
    )  # fmt: skip


def _granted(tenant_id: int, tier: str, names: list[str] | None) -> dict[str, ToolSpec]:
    rows = Tool.objects.filter(status=ToolStatus.LIVE).filter(
        Q(all_tiers=True) | Q(tiers__name=tier) | Q(tenants__id=tenant_id)
    )
    if names is not None:
        rows = rows.filter(name__in=names)
    return {tool.name: _spec(tool) for tool in rows.select_related("mcp_server").distinct()}


async def granted(principal: Principal, names: list[str] | None = None) -> dict[str, ToolSpec]:
    """The caller's live tools (of `names`, if given), by name."""
    return await in_db(_granted)(principal.tenant_id, principal.tier, names)


async def resolve(principal: Principal, names: list[str]) -> list[ToolSpec]:
    """The named tools, each live and granted to the caller; else 400 `tool_not_available`. Unknown,
    not granted and not live read the same: a tenant learns nothing of others' tools."""
    found = await granted(principal, names)
    for name in names:
        if name not in found:
            raise InvalidRequest(
                f"The tool '{name}' is not available to this key: it is unknown, not granted to the tenant, or not "
                "live.", code=ErrorCode.TOOL_NOT_AVAILABLE, param="tools",
            )  # fmt: skip
    return [found[name] for name in dict.fromkeys(names)]


async def policy(tenant_id: int, use_case: str) -> tuple[list[str], int] | None:
    """The tools (and step limit) the tenant's policy names for a use case, or None. Read once per
    tenant and process (again after a change, or a minute), so an `auto` request costs a lookup."""
    if await _policy_watch.changed():
        _policies.clear()
    now = time.monotonic()
    known = _policies.get(tenant_id)
    if known is None or now - known[0] > POLICY_SECONDS:

        def read() -> dict[str, tuple[list[str], int]]:
            found: dict[str, tuple[list[str], int]] = {}
            for row in AgentPolicy.objects.filter(tenant_id=tenant_id).prefetch_related("tools"):
                found[row.use_case] = ([tool.name for tool in row.tools.all()], row.max_steps)
            return found

        known = (now, await in_db(read)())
        _policies[tenant_id] = known
    return known[1].get(use_case or "default")
