"""The /v1/ REST endpoints. Views stay thin: parse the wire format, run the pipeline, render."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.catalogue.snapshot import current_catalogue
from apps.core.errors import NotFound, error_response
from apps.metering.ledger import month_start
from apps.metering.selectors import usage_report
from apps.tenancy.principal import Principal

from . import pipeline, routing
from .formats import anthropic_messages, embeddings, generate, openai_chat
from .formats.validation import json_body, validated
from .http import api_endpoint, json_response, sse_response


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


async def _generate(
    request: HttpRequest, principal: Principal, endpoint: str, body, render, render_stream
) -> HttpResponse:
    """Run the pipeline for a parsed request; answer as JSON or as server-sent events."""
    generation = await pipeline.prepare(
        principal, request_id=request.request_id, endpoint=endpoint, model=body.model, chat=body.to_chat(),
        stream=body.stream,
    )  # fmt: skip
    if body.stream:
        events = await pipeline.stream(generation)
        return sse_response(render_stream(generation, events), generation)
    completion = await pipeline.complete(generation)
    return json_response(render(generation, completion), generation)


@api_endpoint("chat", methods=("POST",))
async def chat_completions(request: HttpRequest, principal: Principal) -> HttpResponse:
    body = validated(openai_chat.ChatCompletionRequest, json_body(request))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def render_stream(generation, events):
        return openai_chat.render_stream(generation, events, include_usage)

    return await _generate(request, principal, "chat", body, openai_chat.render, render_stream)


@api_endpoint("models", methods=("GET",))
async def models(request: HttpRequest, principal: Principal) -> JsonResponse:
    """The models and fallback chains this key may use, each with its fallback chain."""
    catalogue = await current_catalogue()
    data = [
        {
            "id": model.name,
            "object": "model",
            "created": 0,
            "owned_by": model.provider.name,
            "type": model.kind,
            "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "fallbacks": [
                n for n in model.fallback if n in catalogue.models and routing.usable(catalogue.models[n], principal)
            ],
        }
        for model in sorted(routing.models_for(catalogue, principal), key=lambda m: m.name)
    ]
    for name, members in sorted(catalogue.chains.items()):
        allowed = [n for n in members if n in catalogue.models and routing.usable(catalogue.models[n], principal)]
        if allowed:
            data.append(
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "catalyst",
                    "type": "chain",
                    "fallbacks": allowed,
                }
            )
    return JsonResponse({"object": "list", "data": data})


@api_endpoint("usage", methods=("GET",))
async def usage(request: HttpRequest, principal: Principal) -> JsonResponse:
    """The caller's tenant this month: spend, tokens, budget, remaining, by day, model and key."""
    caps = pipeline.budget_caps(principal)
    report = await sync_to_async(usage_report)(
        tenant_id=principal.tenant_id, period=month_start(timezone.now()), caps_usd=caps.usd, caps_tokens=caps.tokens
    )
    return JsonResponse({"tenant": principal.tenant_slug, **report})


@csrf_exempt
async def unknown_route(request: HttpRequest) -> JsonResponse:
    """Any other /v1/ path: the error envelope, in every environment."""
    return error_response(NotFound(f"No route for {request.method} {request.path}."), request.request_id)


@api_endpoint("messages", methods=("POST",), anthropic=True)
async def messages(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Anthropic Messages, so the `anthropic` SDK works against Catalyst unchanged."""
    body = validated(anthropic_messages.MessagesRequest, json_body(request))
    return await _generate(
        request, principal, "messages", body, anthropic_messages.render, anthropic_messages.render_stream
    )


@api_endpoint("embeddings", methods=("POST",))
async def embeddings_view(request: HttpRequest, principal: Principal) -> HttpResponse:
    body = validated(embeddings.EmbeddingRequest, json_body(request))
    generation, result = await pipeline.embed(
        principal, request_id=request.request_id, model=body.model, inputs=body.inputs, dimensions=body.dimensions
    )
    return json_response(embeddings.render(generation.model.name, result, body.encoding_format), generation)


@api_endpoint("generate", methods=("POST",))
async def generate_view(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The platform API: a prompt in; content, model, tokens, latency and cost out."""
    body = validated(generate.GenerateRequest, json_body(request))

    def render(generation, completion):
        return generate.summary(generation, completion.text or "")

    return await _generate(request, principal, "generate", body, render, generate.render_stream)
