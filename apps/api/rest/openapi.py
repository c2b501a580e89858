"""The OpenAPI 3.1 document: every endpoint, its request model (the same pydantic models that
validate requests), its response schema (schemas.py) and its real error envelope and statuses.

tests/test_openapi_fuzz_live.py runs schemathesis against the live server with this document and
checks every answer against it: status documented, content type documented, body valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..formats.anthropic_messages import CountTokensRequest, MessagesRequest
from ..formats.completions import CompletionRequest
from ..formats.embeddings import EmbeddingRequest
from ..formats.generate import GenerateRequest
from ..formats.openai_chat import ChatCompletionRequest
from ..formats.responses import ResponsesRequest
from . import schemas as s
from .conversations import Rename
from .guardrails import CheckRequest
from .vector_stores import AttachFile, CreateStore, Search, UpdateAttributes, UpdateStore

STATUS_TEXT = {
    "400": "Invalid request",
    "401": "Missing or bad credentials",
    "402": "Budget exhausted",
    "403": "Not allowed (model, endpoint, tenant suspended, conversations need a user)",
    "404": "No such model, response, conversation, file or vector store (for this tenant)",
    "405": "Method not allowed (see Allow)",
    "413": "Request too large",
    "429": "Rate limited (Retry-After, RateLimit-* headers)",
    "502": "Every provider in the chain failed",
    "503": "Providers unavailable (circuit open or rate limited), or a service the gateway needs (Redis) is down",
    "504": "Upstream timeout",
}
# Every authenticated endpoint can refuse the credential, rate-limit the caller and lose Redis.
_ALWAYS = ("401", "405", "429", "503")
GENERATION = ("400", "402", "403", "404", "413", "502", "504", *_ALWAYS)
COUNTING = ("400", "403", "404", "413", *_ALWAYS)
READING = ("403", *_ALWAYS)
LOOKUP = ("403", "404", *_ALWAYS)
EDITING = ("400", "403", "404", "413", *_ALWAYS)


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    operation_id: str
    summary: str
    answer: type[BaseModel] | None  # None: 204 No Content
    request: type[BaseModel] | None = None
    errors: tuple[str, ...] = READING
    streams: bool = False  # `stream: true` answers text/event-stream
    anthropic: bool = False  # errors in Anthropic's envelope
    public: bool = False  # no credential
    parameters: tuple[dict[str, Any], ...] = field(default=())
    form: bool = False  # the request is multipart/form-data (a file upload)
    download: bool = False  # the answer is the file's bytes


def _path_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


MODEL_ID = _path_parameter("model_id", {"type": "string", "minLength": 1}, "A model or chain name.")
RESPONSE_ID = _path_parameter("response_id", {"type": "string", "minLength": 1}, "A stored response's id.")
CONVERSATION_ID = _path_parameter("conversation_id", {"type": "integer", "minimum": 1}, "A conversation's id.")
ANTHROPIC_VERSION = {"name": "anthropic-version", "in": "header", "required": False, "schema": {"type": "string"}}
CACHE_HEADERS = (
    {"name": "Cache-Control", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "no-cache (do not serve from the cache, store the answer), no-store (neither), "
                    "max-age=N (serve only an entry at most N s old)."},
    {"name": "X-Catalyst-Cache-TTL", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"}, "description": "Store the answer for N s (capped)."},
    {"name": "X-Catalyst-Use-Case", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"},
     "description": "The tenant's cache policy for this use case (an unknown name is a 400)."},
)  # fmt: skip
FILE_ID = _path_parameter("file_id", {"type": "string", "minLength": 1, "maxLength": 64}, "A file's id.")
STORE_ID = _path_parameter("store_id", {"type": "string", "minLength": 1, "maxLength": 64}, "A vector store's id.")
LIST_QUERY = (
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100},
     "description": "How many (default 20)."},
    {"name": "order", "in": "query", "required": False, "schema": {"enum": ["asc", "desc"]},
     "description": "By creation (default desc)."},
)  # fmt: skip
STORE_FILE_QUERY = (
    *LIST_QUERY,
    {"name": "filter", "in": "query", "required": False,
     "schema": {"enum": ["in_progress", "completed", "failed", "cancelled"]}, "description": "One status."},
)  # fmt: skip
CONVERSATION_QUERY = (
    {"name": "q", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Matches titles and message text (its first 200 characters)."},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200},
     "description": "How many, newest first (default 50)."},
)  # fmt: skip


SSE_EVENT = {
    "description": "One server-sent event, in the provider's own framing (usage last); `data` holds JSON, "
    "or `[DONE]` at the end of an OpenAI-format stream.",
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
    "required": ["data"],
}


OPERATIONS: tuple[Operation, ...] = (
    Operation("/v1/chat/completions", "post", "createChatCompletion",
              "OpenAI-compatible chat completion; `stream: true` answers with server-sent events.",
              s.ChatCompletion, ChatCompletionRequest, GENERATION, streams=True),
    Operation("/v1/responses", "post", "createResponse",
              "OpenAI Responses API: instructions, function tools, text.format, previous_response_id "
              "chaining and `store`; `stream: true` answers with its typed events.",
              s.Response, ResponsesRequest, GENERATION, streams=True),
    Operation("/v1/responses/{response_id}", "get", "getResponse",
              "A stored response of this tenant.", s.Response, errors=LOOKUP, parameters=(RESPONSE_ID,)),
    Operation("/v1/responses/{response_id}", "delete", "deleteResponse",
              "Delete a stored response of this tenant.", s.ResponseDeleted, errors=LOOKUP, parameters=(RESPONSE_ID,)),
    Operation("/v1/completions", "post", "createCompletion",
              "Legacy OpenAI text completion (a prompt, no messages).",
              s.TextCompletion, CompletionRequest, GENERATION, streams=True),
    Operation("/v1/messages", "post", "createMessage",
              "Anthropic-compatible Messages; errors use Anthropic's envelope. Accepts the key in x-api-key.",
              s.AnthropicMessage, MessagesRequest, GENERATION, streams=True, anthropic=True,
              parameters=(ANTHROPIC_VERSION,)),
    Operation("/v1/messages/count_tokens", "post", "countMessageTokens",
              "Anthropic's token count: exact for OpenAI-family tokenisers, an estimate for other models. "
              "Nothing is sent upstream or billed.",
              s.TokenCount, CountTokensRequest, COUNTING, anthropic=True, parameters=(ANTHROPIC_VERSION,)),
    Operation("/v1/embeddings", "post", "createEmbedding", "OpenAI-compatible embeddings.",
              s.EmbeddingList, EmbeddingRequest, GENERATION),
    Operation("/v1/generate", "post", "generate",
              "Platform API: a prompt in; content, model, tokens, latency and cost out.",
              s.Generated, GenerateRequest, GENERATION, streams=True),
    Operation("/v1/models", "get", "listModels", "Models and fallback chains this key may use.", s.ModelList),
    Operation("/v1/models/{model_id}", "get", "getModel", "One model or chain this key may use.",
              s.Model, errors=LOOKUP, parameters=(MODEL_ID,)),
    Operation("/v1/usage", "get", "getUsage",
              "This month's spend, tokens, budget and remaining, by day, model and key.", s.UsageReport),
    Operation("/v1/me", "get", "whoAmI", "The tenant, tier and scopes of the presented credential.", s.Me),
    Operation("/v1/conversations", "get", "listConversations",
              "The calling user's conversations, newest first.", s.ConversationList,
              errors=EDITING, parameters=CONVERSATION_QUERY),
    Operation("/v1/conversations/{conversation_id}", "get", "getConversation", "One of the user's conversations.",
              s.Conversation, errors=LOOKUP, parameters=(CONVERSATION_ID,)),
    Operation("/v1/conversations/{conversation_id}", "patch", "renameConversation", "Rename a conversation.",
              s.Conversation, Rename, EDITING, parameters=(CONVERSATION_ID,)),
    Operation("/v1/conversations/{conversation_id}", "delete", "deleteConversation",
              "Delete a conversation and its messages.", None, errors=LOOKUP, parameters=(CONVERSATION_ID,)),
    Operation("/v1/conversations/{conversation_id}/messages", "get", "listConversationMessages",
              "A conversation's messages, oldest first.", s.ConversationMessages, errors=LOOKUP,
              parameters=(CONVERSATION_ID,)),
    Operation("/v1/guardrails/check", "post", "checkGuardrails",
              "The tenant's guardrail rules applied to a text: every finding, the action, the redacted text.",
              s.GuardrailCheck, CheckRequest, EDITING),
    Operation("/v1/tools", "get", "listTools",
              "The tools the caller's tenant may use (live, granted to its tier or to it), for pipeline 'agent'.",
              s.ToolList, errors=EDITING),
    Operation("/v1/files", "post", "createFile", "Upload a file (multipart/form-data: file, purpose).",
              s.FileObject, s.FileUpload, EDITING, form=True),
    Operation("/v1/files", "get", "listFiles", "The tenant's files, newest first.", s.FileList,
              errors=EDITING, parameters=LIST_QUERY),
    Operation("/v1/files/{file_id}", "get", "getFile", "One file.", s.FileObject, errors=LOOKUP,
              parameters=(FILE_ID,)),
    Operation("/v1/files/{file_id}", "delete", "deleteFile", "Delete a file, its attachments and their chunks.",
              s.FileDeleted, errors=LOOKUP, parameters=(FILE_ID,)),
    Operation("/v1/files/{file_id}/content", "get", "getFileContent", "The file's bytes.", None, errors=LOOKUP,
              parameters=(FILE_ID,), download=True),
    Operation("/v1/vector_stores", "post", "createVectorStore", "Create a vector store, optionally with files.",
              s.VectorStore, CreateStore, EDITING),
    Operation("/v1/vector_stores", "get", "listVectorStores", "The tenant's vector stores, newest first.",
              s.VectorStoreList, errors=EDITING, parameters=LIST_QUERY),
    Operation("/v1/vector_stores/{store_id}", "get", "getVectorStore", "One vector store, with its file counts.",
              s.VectorStore, errors=LOOKUP, parameters=(STORE_ID,)),
    Operation("/v1/vector_stores/{store_id}", "post", "updateVectorStore", "Rename, relabel or re-expire a store.",
              s.VectorStore, UpdateStore, EDITING, parameters=(STORE_ID,)),
    Operation("/v1/vector_stores/{store_id}", "delete", "deleteVectorStore", "Delete a store and its chunks.",
              s.VectorStoreDeleted, errors=LOOKUP, parameters=(STORE_ID,)),
    Operation("/v1/vector_stores/{store_id}/files", "post", "createVectorStoreFile",
              "Attach a file; it is ingested in the background (poll its status).", s.VectorStoreFile, AttachFile,
              EDITING, parameters=(STORE_ID,)),
    Operation("/v1/vector_stores/{store_id}/files", "get", "listVectorStoreFiles", "The store's files.",
              s.VectorStoreFileList, errors=EDITING, parameters=(STORE_ID, *STORE_FILE_QUERY)),
    Operation("/v1/vector_stores/{store_id}/files/{file_id}", "get", "getVectorStoreFile",
              "An attachment's status and last error.", s.VectorStoreFile, errors=LOOKUP,
              parameters=(STORE_ID, FILE_ID)),
    Operation("/v1/vector_stores/{store_id}/files/{file_id}", "post", "updateVectorStoreFile",
              "Replace an attachment's attributes.", s.VectorStoreFile, UpdateAttributes, EDITING,
              parameters=(STORE_ID, FILE_ID)),
    Operation("/v1/vector_stores/{store_id}/files/{file_id}", "delete", "deleteVectorStoreFile",
              "Detach a file (its chunks go; the file stays).", s.VectorStoreFileDeleted, errors=LOOKUP,
              parameters=(STORE_ID, FILE_ID)),
    Operation("/v1/vector_stores/{store_id}/search", "post", "searchVectorStore",
              "Hybrid search (embedding and keywords, fused by rank) with attribute filters.", s.SearchPage, Search,
              EDITING, parameters=(STORE_ID,)),
    Operation("/health", "get", "health", "Liveness: the process answers.", s.Health, errors=("405",), public=True),
    Operation("/ready", "get", "ready", "Readiness: database, migrations, Redis and providers (503 when not ready).",
              s.Readiness, errors=("405",), public=True),
)  # fmt: skip


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    models = {m for op in OPERATIONS for m in (op.request, op.answer) if m is not None}
    models |= {s.ErrorEnvelope, s.AnthropicErrorEnvelope}
    _, definitions = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Catalyst API", "version": "1", "description": "Multi-tenant AI gateway."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key or JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "API key (messages)"},
            },
        },
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Operation) -> dict[str, Any]:
    envelope = _ref(s.AnthropicErrorEnvelope if op.anthropic else s.ErrorEnvelope)
    if op.download:
        binary = {"schema": {"type": "string", "format": "binary"}}
        success: dict[str, Any] = {"200": {"description": "The bytes", "headers": _headers(op),
                                           "content": {"application/octet-stream": binary, "text/plain": binary,
                                                       "text/html": binary, "application/pdf": binary}}}  # fmt: skip
    elif op.answer is None:
        success = {"204": {"description": "Done; no body", "headers": _headers(op)}}
    else:
        content: dict[str, Any] = {"application/json": {"schema": _ref(op.answer)}}
        if op.streams:
            content["text/event-stream"] = {"schema": SSE_EVENT}
        success = {"200": {"description": "Success", "headers": _headers(op), "content": content}}
    responses = {
        **success,
        **{
            status: {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": envelope}}}
            for status in op.errors
        },
    }
    if op.path == "/ready":
        responses["503"] = {"description": "Not ready", "content": {"application/json": {"schema": _ref(s.Readiness)}}}
    operation: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
    parameters = list(op.parameters) + (list(CACHE_HEADERS) if op.streams else [])
    if parameters:
        operation["parameters"] = parameters
    if op.request is not None:
        kind = "multipart/form-data" if op.form else "application/json"
        operation["requestBody"] = {"required": True, "content": {kind: {"schema": _ref(op.request)}}}
    if op.public:
        operation["security"] = []
    elif op.anthropic:
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
    return operation


def _headers(op: Operation) -> dict[str, Any]:
    text = {"schema": {"type": "string"}}
    headers: dict[str, Any] = {"X-Request-Id": {**text, "description": "The request's id, also in the logs."}}
    if op.request is not None and op.errors == GENERATION:
        headers |= {
            "X-Catalyst-Model": {**text, "description": "The model that answered (after any fallback)."},
            "X-Catalyst-Cache": {**text, "description": "HIT, SEMANTIC, MISS, BYPASS or STALE."},
            "X-Catalyst-Cost-USD": {**text, "description": "Cost of a non-streamed answer, eight decimal places."},
        }
    return headers
