"""The conversation API (`/v1/conversations`, Bearer key or JWT of a user)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from pydantic import BaseModel, Field

from apps.chat import selectors, services
from apps.core.db import in_db
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest, PermissionDenied
from apps.tenancy.principal import Principal

from ..edge import rest
from ..formats.validation import json_body, validated

BLANK = " \t\n\r\f\v"  # what a title is trimmed of; it must hold something else


class Rename(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=r"[^ \t\n\r\f\v]", description="Trimmed of blanks.")


def _user_of(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDenied(
            "Conversations belong to users: use a user's token or a key issued to a user.",
            code=ErrorCode.CONVERSATIONS_NEED_A_USER,
        )
    return principal.user_id


@rest("conversations", methods=("GET",))
async def conversation_list(request: HttpRequest, principal: Principal) -> JsonResponse:
    user_id = _user_of(principal)
    query = request.GET.get("q", "").strip()[:200]
    if "\x00" in query:
        raise InvalidRequest("'q' cannot hold a NUL character.", param="q")
    limit = request.GET.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise InvalidRequest("'limit' must be an integer from 1 to 200.", param="limit")
    rows = await in_db(selectors.conversations)(principal.tenant_id, user_id, query, int(limit))
    return JsonResponse({"object": "list", "data": rows})


@rest("conversations", methods=("GET", "PATCH", "DELETE"))
async def conversation_detail(request: HttpRequest, principal: Principal, conversation_id: int) -> HttpResponse:
    user_id = _user_of(principal)
    if request.method == "DELETE":
        await in_db(services.delete)(principal.tenant_id, user_id, conversation_id)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        title = validated(Rename, json_body(request)).title.strip(BLANK)
        conversation = await in_db(services.rename)(principal.tenant_id, user_id, conversation_id, title)
    else:
        conversation = await in_db(services.owned_conversation)(principal.tenant_id, user_id, conversation_id)
    return JsonResponse(selectors.conversation_detail(conversation))


@rest("conversations", methods=("GET",))
async def conversation_messages(request: HttpRequest, principal: Principal, conversation_id: int) -> JsonResponse:
    rows = await in_db(selectors.messages)(principal.tenant_id, _user_of(principal), conversation_id)
    return JsonResponse({"object": "list", "data": rows})
