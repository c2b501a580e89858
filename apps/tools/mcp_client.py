"""Catalyst as an MCP client, through the official `mcp` SDK: staff import a registered server's
tools (each arrives as a draft, to be approved like any other tool), and an agent calls them.

The server's address passes the same check as an HTTP tool's before every connection. Each call
opens its own session: a tool call is rare next to a model call, and no session state outlives
the request that needed it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import network
from .builtins import ToolFailure
from .schemas import schema_problem

IMPORT_SECONDS = 20.0
MAX_PAGES = 20
_UNNAMEABLE = re.compile(r"[^A-Za-z0-9_-]")


def local_name(server: str, remote: str) -> str:
    """The registry's name of a server's tool: `<server>_<tool>`, in the characters models accept."""
    return _UNNAMEABLE.sub("_", f"{server}_{remote}")[:64]


def _client(url: str, token: str):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else None
    http = create_mcp_http_client(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
    return Client(streamable_http_client(url, http_client=http), cache=None)


async def listed(url: str, token: str, allowed: list) -> list[dict[str, Any]]:
    """The tools a server offers (at most MAX_PAGES pages): name, description and input schema."""
    await network.destination(url, allowed)
    async with asyncio.timeout(IMPORT_SECONDS), _client(url, token) as client:
        result = await client.list_tools()
        tools = list(result.tools)
        for _ in range(MAX_PAGES - 1):
            if not result.next_cursor:
                break
            result = await client.list_tools(cursor=result.next_cursor)
            tools += result.tools
    return [{"name": tool.name, "description": tool.description or "", "input_schema": tool.input_schema}
            for tool in tools]  # fmt: skip


def import_tools(server, by) -> tuple[int, int]:
    """Read the server's tools into the registry as drafts (a changed one goes back to draft);
    returns (new, changed). Runs in the admin's request, off no event loop."""
    from asgiref.sync import async_to_sync

    from . import registry

    try:
        offered = async_to_sync(listed)(server.url, server.bearer_token, network.allowed_networks())
    except Exception as error:
        server.last_error = (str(error) if isinstance(error, ToolFailure) else f"{type(error).__name__}: {error}")[:500]
        server.save(update_fields=["last_error"])
        raise ToolFailure(server.last_error) from None
    new = changed = 0
    with transaction.atomic():
        for spec in offered:
            counted = _import_one(server, spec, by)
            new, changed = new + (counted == "new"), changed + (counted == "changed")
        server.imported_at, server.last_error = timezone.now(), ""
        server.save(update_fields=["imported_at", "last_error"])
        registry.tools_changed()
    return new, changed


def _import_one(server, spec: dict[str, Any], by) -> str:
    """One offered tool into the registry: "new", "changed" or "" (unchanged, or not importable:
    a schema the registry refuses, or a name another tool has)."""
    from . import lifecycle
    from .models import Tool, ToolKind

    if schema_problem(spec["input_schema"]) is not None:
        return ""
    description = spec["description"][:2000] or spec["name"]
    tool = Tool.objects.filter(mcp_server=server, remote_name=spec["name"]).first()
    if tool is None:
        name = local_name(server.name, spec["name"])
        if Tool.objects.filter(name=name).exists():
            return ""
        tool = Tool.objects.create(
            name=name, kind=ToolKind.MCP, mcp_server=server, remote_name=spec["name"], description=description,
            input_schema=spec["input_schema"], created_by=by, changed_by=by, editors=[by.pk] if by is not None else [],
        )  # fmt: skip
        lifecycle.recorded(tool, "tool.import", by, {"server": server.name})
        return "new"
    if tool.input_schema == spec["input_schema"] and tool.description == description:
        return ""
    tool.input_schema, tool.description = spec["input_schema"], description
    lifecycle.changed(tool, by, ["input_schema", "description"])
    return "changed"


async def call(tool, arguments: dict) -> Any:
    """Call the tool on its server; an error result becomes a ToolFailure the model reads."""
    await network.destination(tool.server_url, tool.allowed)
    async with _client(tool.server_url, tool.server_token) as client:
        result = await client.call_tool(tool.remote_name, arguments)
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.is_error:
        raise ToolFailure(" ".join(texts)[:500] or "the MCP server reported an error")
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(texts)
