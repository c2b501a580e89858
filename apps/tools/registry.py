"""The tools a caller may use: live, and granted to its tier or tenant.

Each process holds a snapshot of the live tools, their grants and the allowed private
destinations, so an agent run or an MCP call makes no query for them. Every change staff make
(a transition, an edit, a grant, an allow-list entry) bumps an epoch in the same transaction,
and every process reloads within EPOCH_CHECK_SECONDS. The auto pipeline's policies are cached
the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass

from apps.core import epochs
from apps.core.db import in_db
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest
from apps.tenancy.principal import Principal

from . import network
from .execute import ToolSpec
from .models import AgentPolicy, Tool, ToolStatus

TOOLS_EPOCH = "tools"
POLICY_SECONDS = 60.0
POLICY_EPOCH = "agent-policies"


@dataclass(frozen=True, slots=True)
class Granted:
    spec: ToolSpec
    all_tiers: bool
    tiers: frozenset[str]
    tenant_ids: frozenset[int]

    def reaches(self, principal: Principal) -> bool:
        return self.all_tiers or principal.tier in self.tiers or principal.tenant_id in self.tenant_ids


_snapshot: dict[str, Granted] | None = None
_tools_watch = epochs.Watch(TOOLS_EPOCH)
_policies: dict[int, tuple[float, dict[str, tuple[list[str], int]]]] = {}
_policy_watch = epochs.Watch(POLICY_EPOCH)


def tools_changed() -> None:
    """Call inside the transaction that changed a tool, its grant, an MCP server or the allow-list."""
    epochs.bump(TOOLS_EPOCH)


def policies_changed() -> None:
    """Call inside the transaction that changed an AgentPolicy."""
    epochs.bump(POLICY_EPOCH)


def _spec(tool: Tool, allowed: tuple) -> ToolSpec:
    server = tool.mcp_server
    return ToolSpec(
        tool.name, tool.description, tool.input_schema, tool.kind, tool.timeout_seconds, tool.max_response_bytes,
        tool.cost_usd, tool.url, tool.secret, tool.remote_name, server.url if server else "",
        server.bearer_token if server else "", allowed,
    )  # fmt: skip


def load() -> dict[str, Granted]:
    """Every live tool with its grant, and the allow-list each one connects under."""
    allowed = tuple(network.allowed_networks())
    rows = Tool.objects.filter(status=ToolStatus.LIVE).select_related("mcp_server").prefetch_related("tiers", "tenants")
    snapshot = {}
    for tool in rows:
        tiers = frozenset(tier.name for tier in tool.tiers.all())
        tenants = frozenset(tenant.pk for tenant in tool.tenants.all())
        snapshot[tool.name] = Granted(_spec(tool, allowed), tool.all_tiers, tiers, tenants)
    return snapshot


async def _current() -> dict[str, Granted]:
    global _snapshot
    if await _tools_watch.changed() or _snapshot is None:
        try:
            _snapshot = await in_db(load)()
        except BaseException:  # the next check reloads: a failed load must not pass for the new epoch
            _tools_watch.value = None
            raise
    return _snapshot


async def granted(principal: Principal, names: list[str] | None = None) -> dict[str, ToolSpec]:
    """The caller's live tools (of `names`, if given), by name."""
    snapshot = await _current()
    wanted = snapshot if names is None else {name: snapshot[name] for name in names if name in snapshot}
    return {name: entry.spec for name, entry in wanted.items() if entry.reaches(principal)}


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
