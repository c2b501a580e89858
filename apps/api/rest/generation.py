"""The generation endpoints. Views stay thin: parse the wire format into a pipeline Request, run
the pipeline, render its answer as JSON or as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.cache import controls as cache_controls
from apps.catalogue.models import ModelKind
from apps.gateway import pipeline, routing
from apps.providers.types import ChatRequest, Completion
from apps.retrieval.stage import Retrieval
from apps.tenancy.principal import Principal
from apps.tools.agent import Agent

from ..edge import rest
from ..formats import anthropic_messages, completions, embeddings, generate, openai_chat
from ..formats.validation import json_body, validated
from .replies import json_response, sse_response

Render = Callable[[pipeline.Request, Completion], dict]
RenderStream = Callable[[pipeline.Request, AsyncIterator], AsyncIterator[bytes]]


async def _answer(
    http: HttpRequest, principal: Principal, endpoint: str, body, render: Render, render_stream: RenderStream,
    retrieval: Retrieval | None = None, agent: Agent | None = None,
) -> HttpResponse:  # fmt: skip
    request = pipeline.Request(principal, http.request_id, endpoint, body.model, body.to_chat(), stream=body.stream)
    request.retrieval, request.agent = retrieval, agent
    request.cache_controls = cache_controls.from_headers(http.headers)
    await pipeline.start(request)
    if body.stream:
        return sse_response(render_stream(request, pipeline.events(request)), request)
    completion = await pipeline.complete(request)
    return json_response(render(request, completion), request)


async def _openai_answer(http: HttpRequest, principal: Principal, endpoint: str, model, wire) -> HttpResponse:
    """An OpenAI-format endpoint (`wire` is its format module): usage in the stream when asked for."""
    body = validated(model, json_body(http))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def render_stream(request, events):
        return wire.render_stream(request, events, include_usage)

    return await _answer(http, principal, endpoint, body, wire.render, render_stream)


@rest("chat", methods=("POST",))
async def chat_completions(http: HttpRequest, principal: Principal) -> HttpResponse:
    return await _openai_answer(http, principal, "chat", openai_chat.ChatCompletionRequest, openai_chat)


@rest("completions", methods=("POST",))
async def legacy_completions(http: HttpRequest, principal: Principal) -> HttpResponse:
    """OpenAI's legacy Completions: the prompt as one user message of a chat request."""
    return await _openai_answer(http, principal, "completions", completions.CompletionRequest, completions)


@rest("messages", methods=("POST",), anthropic=True)
async def messages(http: HttpRequest, principal: Principal) -> HttpResponse:
    """Anthropic Messages, so the `anthropic` SDK works against Catalyst unchanged."""
    body = validated(anthropic_messages.MessagesRequest, json_body(http))
    return await _answer(http, principal, "messages", body, anthropic_messages.render, anthropic_messages.render_stream)


@rest("messages", methods=("POST",), anthropic=True)
async def count_tokens(http: HttpRequest, principal: Principal) -> HttpResponse:
    """Anthropic's token count for a Messages request: exact for models with an OpenAI-family
    tokenizer, an estimate for the others (Anthropic's tokenizer is not public). Nothing is sent
    upstream and nothing is billed."""
    body = validated(anthropic_messages.CountTokensRequest, json_body(http))
    request = pipeline.Request(principal, http.request_id, "messages", body.model, body.to_chat())
    await routing.route(request)
    return JsonResponse({"input_tokens": request.prompt_tokens})


@rest("generate", methods=("POST",))
async def generate_view(http: HttpRequest, principal: Principal) -> HttpResponse:
    """The platform API: a prompt in; content, model, tokens, latency and cost out."""
    body = validated(generate.GenerateRequest, json_body(http))
    retrieval = Retrieval(body.vector_store_ids) if body.retrieves else None
    if body.pipeline == "auto" and retrieval is None:
        retrieval = Retrieval([], auto=True)  # the tenant's default stores, when the question needs them
    return await _answer(
        http, principal, "generate", body, generate.render, generate.render_stream, retrieval, body.agent()
    )


@rest("embeddings", methods=("POST",))
async def embeddings_view(http: HttpRequest, principal: Principal) -> HttpResponse:
    body = validated(embeddings.EmbeddingRequest, json_body(http))
    request = pipeline.Request(
        principal, http.request_id, "embeddings", body.model, ChatRequest(messages=[]),
        kind=ModelKind.EMBEDDING, inputs=body.inputs, dimensions=body.dimensions,
    )  # fmt: skip
    result = await pipeline.embed(request)
    return json_response(embeddings.render(request.model.name, result, body.encoding_format), request)
