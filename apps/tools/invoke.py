"""One tool call on behalf of a caller, the same for an agent run and an MCP client: refused
when the tool is not offered to the caller, refused before execution when its arguments are
invalid, a priced tool's price held against the budget before it runs (and charged after),
executed, its result checked by the tenant's injection rule (results are untrusted input), and
the call put on the audit trail (the arguments' digest always; their values only when the tenant
keeps prompts)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from apps.audit import trail
from apps.core.background import spawn
from apps.guardrails import policy
from apps.guardrails.checks import injection
from apps.metering import metered
from apps.observability import metrics, tracing
from apps.tenancy.principal import Principal

from . import execute
from .builtins import CallContext
from .execute import Outcome, ToolResult, ToolSpec
from .schemas import arguments_problem


def digest(arguments: Any) -> str:
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


async def injection_rule(principal: Principal):
    """The tenant's input injection rule (its threshold applies to tool results), or None."""
    return (await policy.current()).resolve(principal).get("injection", "input")


async def invoke(
    tool: ToolSpec | None, name: str, arguments: Any, problem: str | None, context: CallContext, rule,
    charge_id: str, seconds: float | None = None,
) -> ToolResult:  # fmt: skip
    """`problem`: why the arguments could not be read (not JSON); `charge_id`: the usage record's id;
    `seconds`: what is left of the caller's deadline. Every outcome is counted in the metrics."""
    result = await _invoke(tool, name, arguments, problem, context, rule, charge_id, seconds)
    # A name the model made up is not a label: unknown tools count as one.
    label = name if tool is not None else "(not offered)"
    metrics.TOOL_CALLS.labels(context.principal.tenant_slug, label, result.outcome).inc()
    return result


async def _invoke(
    tool: ToolSpec | None, name: str, arguments: Any, problem: str | None, context: CallContext, rule,
    charge_id: str, seconds: float | None,
) -> ToolResult:  # fmt: skip
    if tool is None:  # not offered: unknown, not granted or not live
        return ToolResult(Outcome.DENIED, f"The tool '{name}' is not available here; use one of those offered.")
    if problem is None:
        problem = arguments_problem(tool.input_schema, arguments)
    if problem is not None:
        return ToolResult(Outcome.INVALID_ARGUMENTS, f"Invalid arguments for {name}: {problem}.")
    call, priced = metered.Call(context.principal, charge_id, "tool"), tool.cost_usd > 0
    if priced and not await metered.hold(call, tool.cost_usd):
        return ToolResult(Outcome.OVER_BUDGET, f"{name} was not called: the tenant's budget cannot pay for it.")
    result = None
    try:
        with tracing.stage(f"tool.{tool.name}"):
            result = await execute.run(tool, arguments, context, seconds)
        if result.ok and rule is not None and injection.score(result.content)[0] >= rule.threshold:
            withheld = f"The result of {name} was withheld: the gateway's injection check flagged it."
            result = ToolResult(Outcome.WITHHELD, withheld, result.duration_ms)
    finally:
        if priced:  # held, so charged whatever happened: the call may have reached the tool before a cancel
            outcome = result.outcome if result is not None else "cancelled"
            spawn(metered.record(call, model=tool.name, cost_usd=tool.cost_usd, outcome=outcome), what="tool charge")
    result.charged = tool.cost_usd if priced else Decimal(0)
    return result


def step(tool: str, arguments_digest: str, result: ToolResult) -> dict[str, Any]:
    """A call as an answer's steps and the audit trail show it: never the argument values."""
    return {"tool": tool, "arguments_digest": arguments_digest, "outcome": result.outcome,
            "duration_ms": result.duration_ms}  # fmt: skip


def audit_event(principal: Principal, request_id: str, call: dict[str, Any]) -> dict:
    """`call`: tool, outcome, duration_ms, arguments_digest and more; `arguments` kept only when the
    tenant keeps prompts."""
    payload = {key: value for key, value in call.items() if key != "arguments"}
    if principal.keep_prompts and "arguments" in call:
        payload["arguments"] = call["arguments"]
    by_key = principal.method == "api_key"
    return trail.event(
        "tool.call", actor_type="api_key" if by_key else "user",
        actor=principal.key_prefix if by_key else f"user:{principal.user_id}", tenant_id=principal.tenant_id,
        tenant_slug=principal.tenant_slug, object_type="tools.Tool", object_id=call["tool"], request_id=request_id,
        payload=payload,
    )  # fmt: skip
