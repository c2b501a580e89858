"""GET /v1/tools: the tools the caller's tenant may use (live, and granted to its tier or to it),
as an agent run or an MCP client would be offered them. Metered as a request."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from apps.metering import metered
from apps.tenancy.principal import Principal
from apps.tools import registry

from ..edge import rest


@rest("tools", methods=("GET",))
async def tool_list(http: HttpRequest, principal: Principal) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "tools")
    tools = await registry.granted(principal)
    await metered.record(call)
    return JsonResponse({"object": "list", "data": [tool.public() for _, tool in sorted(tools.items())]})
