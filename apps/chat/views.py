"""The conversation API (`/v1/conversations`, Bearer key or JWT of a user) and the chat page."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.core.db import refresh_connections
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest, PermissionDenied
from apps.gateway.formats.validation import json_body
from apps.gateway.http import api_endpoint
from apps.tenancy.models import Membership, TenantStatus
from apps.tenancy.principal import Principal
from apps.tenancy.tokens import issue_token

from . import selectors, services

# The page runs only its own scripts and styles, talks only to this origin, and loads no image
# from anywhere else: whatever a model writes cannot run code or leak data through a URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


def _in_db(function):
    """Run a query function off the event loop, on a fresh connection (the lean handler sends no
    request signals)."""

    def call(*args):
        refresh_connections()
        return function(*args)

    return sync_to_async(call)


def _user_of(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDenied(
            "Conversations belong to users: use a user's token or a key issued to a user.",
            code=ErrorCode.CONVERSATIONS_NEED_A_USER,
        )
    return principal.user_id


@api_endpoint("conversations", methods=("GET",))
async def conversation_list(request: HttpRequest, principal: Principal) -> JsonResponse:
    user_id = _user_of(principal)
    query = request.GET.get("q", "").strip()[:200]
    limit = request.GET.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise InvalidRequest("'limit' must be an integer from 1 to 200.", param="limit")
    rows = await _in_db(selectors.conversations)(principal.tenant_id, user_id, query, int(limit))
    return JsonResponse({"object": "list", "data": rows})


@api_endpoint("conversations", methods=("GET", "PATCH", "DELETE"))
async def conversation_detail(request: HttpRequest, principal: Principal, conversation_id: int) -> HttpResponse:
    user_id = _user_of(principal)
    if request.method == "DELETE":
        await _in_db(services.delete)(principal.tenant_id, user_id, conversation_id)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        title = json_body(request).get("title")
        title = title.strip() if isinstance(title, str) else ""
        if not 1 <= len(title) <= 200:
            raise InvalidRequest("'title' must be a string of 1 to 200 characters.", param="title")
        conversation = await _in_db(services.rename)(principal.tenant_id, user_id, conversation_id, title)
    else:
        conversation = await _in_db(services.owned_conversation)(principal.tenant_id, user_id, conversation_id)
    return JsonResponse(selectors.conversation_detail(conversation))


@api_endpoint("conversations", methods=("GET",))
async def conversation_messages(request: HttpRequest, principal: Principal, conversation_id: int) -> JsonResponse:
    rows = await _in_db(selectors.messages)(principal.tenant_id, _user_of(principal), conversation_id)
    return JsonResponse({"object": "list", "data": rows})


# --- the chat page (session login) ------------------------------------------------------------


def _memberships(request: HttpRequest) -> list[dict]:
    rows = Membership.objects.filter(user=request.user, tenant__status=TenantStatus.ACTIVE).select_related("tenant")
    return [{"slug": m.tenant.slug, "name": m.tenant.name} for m in rows.order_by("tenant__name")]


@login_required
def chat_page(request: HttpRequest) -> HttpResponse:
    tenants = _memberships(request)
    slugs = [t["slug"] for t in tenants]
    tenant = request.GET.get("tenant") if request.GET.get("tenant") in slugs else (slugs[0] if slugs else None)
    context = {"tenants": tenants, "tenant": tenant, "token_url": "/chat/token", "ws_path": "/ws/chat/"}
    response = render(request, "chat/index.html", {**context, "api_base": "/v1"}, status=200 if tenant else 403)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@require_POST
def chat_token(request: HttpRequest) -> JsonResponse:
    """A short-lived JWT for the signed-in user and one of their tenants (CSRF-protected)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": {"message": "Sign in first.", "type": "authentication_error"}}, status=401)
    try:
        wanted = json.loads(request.body or b"{}").get("tenant")
    except (ValueError, AttributeError):
        wanted = None
    slugs = [t["slug"] for t in _memberships(request)]
    if wanted not in slugs:
        error = {"message": "You are not a member of that tenant.", "type": "permission_error"}
        return JsonResponse({"error": error}, status=403)
    ttl = settings.CHAT_PAGE_TOKEN_TTL_SECONDS
    token = issue_token(user_id=request.user.pk, tenant_slug=wanted, ttl_seconds=ttl)
    return JsonResponse({"token": token, "expires_in": ttl, "tenant": wanted})
