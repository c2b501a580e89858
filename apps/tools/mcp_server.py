"""Catalyst as an MCP server (the official `mcp` SDK's low-level server): the caller's granted
live tools, listed and called through Catalyst's permissions, rate limits, budget and audit
trail. The transport (apps/api/mcp.py) authenticates the bearer and puts the Principal in the
request's scope; these handlers read it from there."""

from __future__ import annotations

import itertools

from mcp import types
from mcp.server.lowlevel import Server

from apps.audit import trail
from apps.core.errors import ApiError
from apps.metering import metered
from apps.tenancy.principal import Principal

from . import invoke, registry
from .builtins import CallContext

PRINCIPAL = "catalyst.principal"
REQUEST_ID = "catalyst.request_id"
_calls = itertools.count(1)


def _caller(context) -> tuple[Principal, str]:
    scope = context.request.scope
    return scope[PRINCIPAL], scope[REQUEST_ID]


async def list_tools(context, params) -> types.ListToolsResult:
    principal, _ = _caller(context)
    tools = await registry.granted(principal)
    return types.ListToolsResult(
        tools=[types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema)
               for _, tool in sorted(tools.items())]
    )  # fmt: skip


async def call_tool(context, params: types.CallToolRequestParams) -> types.CallToolResult:
    principal, request_id = _caller(context)
    try:
        call = await metered.admit(principal, f"{request_id}:call-{next(_calls)}", "mcp")
    except ApiError as refused:  # a rate limit: the client reads why, as a tool error
        return types.CallToolResult(content=[types.TextContent(text=refused.message)], is_error=True)
    tool = (await registry.granted(principal, [params.name])).get(params.name)
    arguments = params.arguments if params.arguments is not None else {}
    rule = await invoke.injection_rule(principal)
    result = await invoke.invoke(
        tool, params.name, arguments, None, CallContext(principal, request_id), rule, f"{call.request_id}:tool"
    )
    await metered.record(call, model=params.name, outcome=result.outcome)
    entry = {**invoke.step(params.name, invoke.digest(arguments), result), "via": "mcp", "arguments": arguments}
    await trail.record(invoke.audit_event(principal, request_id, entry))
    return types.CallToolResult(content=[types.TextContent(text=result.content)], is_error=not result.ok)


server = Server("catalyst", version="1", on_list_tools=list_tools, on_call_tool=call_tool)
