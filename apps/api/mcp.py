"""POST /mcp: Catalyst's MCP endpoint (streamable HTTP, stateless, JSON answers), so MCP clients
use the caller's tools through Catalyst. The bearer (a Catalyst key or a JWT) is checked here, as
at every edge, and a refusal is the usual error envelope with a 401 or 403; the MCP SDK's
session manager then serves the JSON-RPC (apps/tools/mcp_server.py)."""

from __future__ import annotations

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from apps.core.errors import ApiError
from apps.tenancy.authentication import credential_from_headers
from apps.tools import mcp_server

from .edge import as_api_error, error_response, new_request_id, principal_for

PATH = "/mcp"
MAX_BODY_BYTES = 1_048_576
manager = StreamableHTTPSessionManager(
    app=mcp_server.server, json_response=True, stateless=True, max_request_body_size=MAX_BODY_BYTES
)


def running():
    """The session manager's task group, for the server's lifespan."""
    return manager.run()


async def application(scope, receive, send) -> None:
    headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
    request_id = new_request_id()
    try:
        credential = credential_from_headers(headers.get("authorization"), headers.get("x-api-key"))
        client = scope.get("client")
        principal = await principal_for(credential, "mcp", client[0] if client else None)
    except Exception as failure:
        await _refuse(send, as_api_error(failure, "mcp", request_id), request_id)
        return
    scope = {**scope, mcp_server.PRINCIPAL: principal, mcp_server.REQUEST_ID: request_id}
    await manager.handle_request(scope, receive, send)


async def _refuse(send, error: ApiError, request_id: str) -> None:
    """The edge's own error response (envelope, status, headers), sent on this raw ASGI path."""
    response = error_response(error, request_id)
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
