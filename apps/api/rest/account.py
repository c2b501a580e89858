"""What a credential may know about itself and its tenant: who it is, the models it may use, the
month's usage; and the envelope for any other /v1/ path."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.catalogue.snapshot import current_catalogue
from apps.core.error_codes import ErrorCode
from apps.core.errors import NotFound
from apps.gateway import routing
from apps.metering.ledger import month_start
from apps.metering.selectors import usage_report
from apps.metering.stage import budget_caps
from apps.tenancy.principal import Principal

from ..edge import error_response, rest


@rest("me", methods=("GET",))
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


@rest("models", methods=("GET",))
async def models(request: HttpRequest, principal: Principal) -> JsonResponse:
    """The models and fallback chains this key may use, each with its fallback chain."""
    return JsonResponse({"object": "list", "data": _listing(await current_catalogue(), principal)})


def _listing(catalogue, principal: Principal) -> list[dict]:
    def allowed(names) -> list[str]:
        return [n for n in names if n in catalogue.models and routing.usable(catalogue.models[n], principal)]

    data = [
        {
            "id": model.name,
            "object": "model",
            "created": 0,
            "owned_by": model.provider.name,
            "type": model.kind,
            "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "fallbacks": allowed(model.fallback),
        }
        for model in sorted(routing.models_for(catalogue, principal), key=lambda m: m.name)
    ]
    for name, members in sorted(catalogue.chains.items()):
        if members := allowed(members):
            data.append(
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "catalyst",
                    "type": "chain",
                    "fallbacks": members,
                }
            )
    return data


@rest("models", methods=("GET",))
async def model(request: HttpRequest, principal: Principal, model_id: str) -> JsonResponse:
    """One model or chain this key may use, as `GET /v1/models` lists it; 404 otherwise."""
    catalogue = await current_catalogue()
    for entry in _listing(catalogue, principal):
        if entry["id"] == model_id:
            return JsonResponse(entry)
    raise NotFound(f"The model '{model_id}' does not exist or is not enabled.", code=ErrorCode.MODEL_NOT_FOUND)


@rest("usage", methods=("GET",))
async def usage(request: HttpRequest, principal: Principal) -> JsonResponse:
    """The caller's tenant this month: spend, tokens, budget, remaining, by day, model and key."""
    caps = budget_caps(principal)
    report = await sync_to_async(usage_report)(
        tenant_id=principal.tenant_id, period=month_start(timezone.now()), caps_usd=caps.usd, caps_tokens=caps.tokens
    )
    return JsonResponse({"tenant": principal.tenant_slug, **report})


@csrf_exempt
async def unknown_route(request: HttpRequest) -> JsonResponse:
    """Any other /v1/ path: the error envelope (Anthropic's under /v1/messages), in every environment."""
    missing = NotFound(f"No route for {request.method} {request.path}.")
    return error_response(missing, request.request_id, anthropic=request.path.startswith("/v1/messages"))
