"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from ..formats.anthropic_messages import MessagesRequest
from ..formats.embeddings import EmbeddingRequest
from ..formats.generate import GenerateRequest
from ..formats.openai_chat import ChatCompletionRequest


class ErrorBody(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, ...")
    code: str = Field(description="Stable machine-readable code, e.g. invalid_api_key, model_not_found.")
    param: str | None = Field(None, description="The request field at fault, when there is one.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ERRORS = {
    "400": "Invalid request",
    "401": "Missing or bad credentials",
    "402": "Budget exhausted",
    "403": "Not allowed (model, endpoint, tenant suspended)",
    "413": "Request too large",
    "429": "Rate limited (Retry-After, RateLimit-* headers)",
    "502": "Every provider in the chain failed",
    "503": "Providers unavailable (circuit open or rate limited), or a service the gateway needs (Redis) is down",
    "504": "Upstream timeout",
}

OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, str]] = [
    ("/v1/chat/completions", "post", "createChatCompletion", ChatCompletionRequest,
     "OpenAI-compatible chat completion; `stream: true` answers with server-sent events."),
    ("/v1/messages", "post", "createMessage", MessagesRequest,
     "Anthropic-compatible Messages; errors use Anthropic's envelope. Accepts the key in x-api-key."),
    ("/v1/embeddings", "post", "createEmbedding", EmbeddingRequest, "OpenAI-compatible embeddings."),
    ("/v1/generate", "post", "generate", GenerateRequest,
     "Platform API: a prompt in; content, model, tokens, latency and cost out."),
    ("/v1/models", "get", "listModels", None, "Models and fallback chains this key may use."),
    ("/v1/usage", "get", "getUsage", None, "This month's spend, tokens, budget and remaining, by day, model and key."),
    ("/v1/me", "get", "whoAmI", None, "The tenant, tier and scopes of the presented credential."),
]  # fmt: skip


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    models = [m for *_, m, _ in OPERATIONS if m is not None] + [ErrorEnvelope]
    _, definitions = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    error_responses = {
        status: {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        }
        for status, text in ERRORS.items()
    }
    paths: dict[str, Any] = {}
    for path, method, operation_id, model, summary in OPERATIONS:
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "responses": {"200": {"description": "Success", "headers": _headers()}, **error_responses},
        }
        if model is not None:
            reference = {"$ref": f"#/components/schemas/{model.__name__}"}
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": reference}}}
        paths[path] = {method: operation}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Catalyst API", "version": "1", "description": "Multi-tenant AI gateway."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API key or JWT"}},
        },
    }


def _headers() -> dict[str, Any]:
    text = {"schema": {"type": "string"}}
    return {
        "X-Request-Id": {**text, "description": "The request's id, also in the logs."},
        "X-Catalyst-Model": {**text, "description": "The model that answered (after any fallback)."},
        "X-Catalyst-Cache": {**text, "description": "HIT, SEMANTIC or MISS."},
        "X-Catalyst-Cost-USD": {**text, "description": "Cost of a non-streamed answer."},
    }
