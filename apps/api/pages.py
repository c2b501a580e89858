"""The chat page: a session-authenticated page and the short-lived JWT it connects with."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.core.errors import AuthenticationFailed, PermissionDenied
from apps.tenancy.models import Membership, TenantStatus
from apps.tenancy.tokens import issue_token

from .edge import error_response

# The page runs only its own scripts and styles, talks only to this origin, and loads no image
# from anywhere else: whatever a model writes cannot run code or leak data through a URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


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
        return error_response(AuthenticationFailed("Sign in first."))
    try:
        wanted = json.loads(request.body or b"{}").get("tenant")
    except (ValueError, AttributeError):
        wanted = None
    slugs = [t["slug"] for t in _memberships(request)]
    if wanted not in slugs:
        return error_response(PermissionDenied("You are not a member of that tenant."))
    ttl = settings.CHAT_PAGE_TOKEN_TTL_SECONDS
    token = issue_token(user_id=request.user.pk, tenant_slug=wanted, ttl_seconds=ttl)
    return JsonResponse({"token": token, "expires_in": ttl, "tenant": wanted})
