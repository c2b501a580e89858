"""Catalyst as an MCP client, through the official `mcp` SDK: staff import a registered server's
tools (each arrives as a draft, to be approved like any other tool), and an agent calls them.

The server's address passes the same check as an HTTP tool's before every connection, and the
connection goes to the checked address (the name sent as Host and TLS server name), so a DNS
answer that changes after the check (rebinding) reaches nothing it did not allow. Each call opens
its own session: a tool call is rare next to a model call, and no session state outlives the
request that needed it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx2
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


class _Pinned(httpx2.AsyncBaseTransport):
    """Every request to the checked address, with the server's name as Host and TLS server name."""

    def __init__(self, target: network.Destination) -> None:
        self._target = target
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["Host"] = self._target.host
        request.extensions = {**request.extensions, "sni_hostname": self._target.server_name}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _client(target: network.Destination, token: str):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(  # the MCP SDK's timeouts; redirects are its to follow, within the origin
        headers=headers, timeout=httpx2.Timeout(30.0, read=300.0), transport=_Pinned(target)
    )
    return Client(streamable_http_client(target.url, http_client=http), cache=None)


async def listed(url: str, token: str, allowed: list) -> list[dict[str, Any]]:
    """The tools a server offers (at most MAX_PAGES pages): name, description and input schema."""
    target = await network.destination(url, allowed)
    async with asyncio.timeout(IMPORT_SECONDS), _client(target, token) as client:
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
    target = await network.destination(tool.server_url, tool.allowed)
    async with _client(target, tool.server_token) as client:
        result = await client.call_tool(tool.remote_name, arguments)
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.is_error:
        raise ToolFailure(" ".join(texts)[:500] or "the MCP server reported an error")
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(texts)
