"""The /v1/ REST endpoints. Views stay thin: the caller is resolved by `api_endpoint`."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import NotFound, error_response
from apps.tenancy.principal import Principal

from .http import api_endpoint


@api_endpoint("me", methods=("GET",))
async def me(request: HttpRequest, principal: Principal) -> JsonResponse:
    """Who the credential authenticates as: tenant, tier, key prefix and scopes. Never the secret."""
    return JsonResponse(
        {
            "tenant": principal.tenant_slug,
            "tier": principal.tier,
            "auth": principal.method,
            "key_prefix": principal.key_prefix,
            "team_id": principal.team_id,
            "user_id": principal.user_id,
            "role": principal.role,
            "allowed_models": list(principal.allowed_models),
            "allowed_endpoints": list(principal.allowed_endpoints),
        }
    )


@csrf_exempt
async def unknown_route(request: HttpRequest) -> JsonResponse:
    """Any other /v1/ path: the error envelope, in every environment."""
    return error_response(NotFound(f"No route for {request.method} {request.path}."), request.request_id)
