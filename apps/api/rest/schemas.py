"""The response bodies of the API, as the OpenAPI document describes them (openapi.py).

Documentation models only: the renderers in apps/api/formats build the bodies, and the
schemathesis run in the suite (tests/test_openapi_fuzz_live.py) checks that every body it meets
matches these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

Money = Annotated[str, Field(pattern=r"^\d+\.\d{8}$", description="USD, a fixed-point decimal with eight places.")]


class ErrorBody(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, ...")
    code: str = Field(description="Stable machine-readable code, e.g. invalid_api_key, model_not_found.")
    param: str | None = Field(None, description="The request field at fault, when there is one.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class AnthropicErrorBody(BaseModel):
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error, ...")
    message: str


class AnthropicErrorEnvelope(BaseModel):
    type: Literal["error"]
    error: AnthropicErrorBody


# --- generation -----------------------------------------------------------------------------


class FunctionCall(BaseModel):
    name: str
    arguments: str


class ToolCall(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCall


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCall] | None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: dict[str, Any] | None


class PromptDetails(BaseModel):
    cached_tokens: int


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetails


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: ChatUsage


class TextChoice(BaseModel):
    text: str
    index: int
    logprobs: None
    finish_reason: str


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TextCompletion(BaseModel):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: CompletionUsage


class MessageUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class AnthropicMessage(BaseModel):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]] = Field(description="text and tool_use blocks.")
    stop_reason: str
    stop_sequence: str | None
    usage: MessageUsage


class TokenCount(BaseModel):
    input_tokens: int


class Embedding(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of little-endian float32.")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class Generated(BaseModel):
    request_id: str
    content: str
    model_used: str | None
    pipeline_used: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cached: bool
    cache: Literal["HIT", "SEMANTIC", "MISS", "BYPASS", "STALE"]
    cost_usd: Money
    citations: list[Citation] | None = Field(None, description="pipeline rag: the sources, best first.")
    withheld: list[Withheld] | None = Field(None, description="pipeline rag: chunks the injection check flagged.")
    steps: list[Step] | None = Field(None, description="pipeline agent: the tool calls, in order.")
    finish_reason: str | None = Field(None, description="pipeline agent: 'stop', or 'limit' when a limit ended it.")


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int
    cost_usd: Money


class Response(BaseModel):
    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "failed", "in_progress"]
    model: str
    output: list[dict[str, Any]] = Field(description="message and function_call items.")
    output_text: str
    usage: ResponseUsage
    error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
    instructions: str | None
    previous_response_id: str | None
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool
    text: dict[str, Any]
    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None
    metadata: dict[str, str]
    store: bool
    truncation: str
    user: str | None
    reasoning: dict[str, Any]


class ResponseDeleted(BaseModel):
    id: str
    object: Literal["response.deleted"]
    deleted: Literal[True]


# --- the account ------------------------------------------------------------------------------


class Model(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    type: Literal["chat", "embedding", "chain"]
    context_window: int | None = None
    max_output_tokens: int | None = None
    fallbacks: list[str]


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[Model]


class UsageRow(BaseModel):
    spend_usd: Money
    tokens: int
    requests: int
    date: str | None = None
    model: str | None = None
    key_prefix: str | None = None


class UsageReport(BaseModel):
    tenant: str
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    spend_usd: Money
    tokens: int
    budget_usd: Money | None
    remaining_usd: Money | None
    token_budget: int | None
    remaining_tokens: int | None
    by_day: list[UsageRow]
    by_model: list[UsageRow]
    by_key: list[UsageRow]


class Me(BaseModel):
    tenant: str
    tier: str
    auth: Literal["api_key", "jwt"]
    key_prefix: str | None
    team_id: int | None
    user_id: int | None
    role: str | None
    allowed_models: list[str]
    allowed_endpoints: list[str]


class Conversation(BaseModel):
    id: int
    title: str
    model: str
    created_at: str
    updated_at: str


class ConversationList(BaseModel):
    object: Literal["list"]
    data: list[Conversation]


class ConversationMessage(BaseModel):
    id: int
    client_id: str
    role: str
    content: str
    model: str
    status: str
    error_code: str
    tokens_in: int
    tokens_out: int
    cost_usd: Money
    created_at: str


class ConversationMessages(BaseModel):
    object: Literal["list"]
    data: list[ConversationMessage]


# --- operators -------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Any] = Field(description="database, migrations, redis, and (when ready) providers.")


# --- tools ---------------------------------------------------------------------------------------


class Step(BaseModel):
    tool: str
    arguments_digest: str = Field(description="sha256 of the arguments' canonical JSON (the values are not shown).")
    outcome: Literal[
        "ok", "invalid_arguments", "denied", "timeout", "failed", "invalid_output", "withheld", "over_budget"
    ]
    duration_ms: float


class ToolInfo(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema (2020-12) of the arguments.")
    kind: Literal["builtin", "http", "mcp"]


class ToolList(BaseModel):
    object: Literal["list"]
    data: list[ToolInfo]


# --- retrieval (OpenAI's Files and Vector Stores) ------------------------------------------------

Scalar = str | float | bool


class Citation(BaseModel):
    file_id: str
    filename: str
    chunk_id: str
    score: float
    text: str


class Withheld(BaseModel):
    file_id: str
    chunk_id: str
    check: str = Field(description="The guardrail check that flagged the chunk (the indirect check).")


class FileObject(BaseModel):
    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    filename: str
    purpose: Literal["assistants", "user_data", "batch"]
    status: Literal["uploaded", "processed", "error"]
    expires_at: int | None
    status_details: str | None


class FileUpload(BaseModel):
    file: bytes = Field(description="The file (text, Markdown, HTML or PDF; JSON Lines for batches).")
    purpose: Literal["assistants", "user_data", "batch"]


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"]
    deleted: bool


class Page(BaseModel):
    object: Literal["list"]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileList(Page):
    data: list[FileObject]


class FileCounts(BaseModel):
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int


class VectorStore(BaseModel):
    id: str
    object: Literal["vector_store"]
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["in_progress", "completed", "expired"]
    expires_after: dict[str, Any] | None
    expires_at: int | None
    last_active_at: int | None
    metadata: dict[str, str]


class VectorStoreList(Page):
    data: list[VectorStore]


class VectorStoreDeleted(BaseModel):
    id: str
    object: Literal["vector_store.deleted"]
    deleted: bool


class LastError(BaseModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFile(BaseModel):
    id: str
    object: Literal["vector_store.file"]
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "failed", "cancelled"]
    last_error: LastError | None
    usage_bytes: int
    attributes: dict[str, Scalar]
    chunking_strategy: dict[str, Any]


class VectorStoreFileList(Page):
    data: list[VectorStoreFile]


class VectorStoreFileDeleted(BaseModel):
    id: str
    object: Literal["vector_store.file.deleted"]
    deleted: bool


class SearchContent(BaseModel):
    type: Literal["text"]
    text: str


class SearchResult(BaseModel):
    file_id: str
    filename: str
    score: float = Field(description="The fused rank over the best possible: 1.0 is first in both searches.")
    attributes: dict[str, Scalar]
    content: list[SearchContent]


class SearchPage(BaseModel):
    object: Literal["vector_store.search_results.page"]
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool
    next_page: str | None


class GuardrailEntity(BaseModel):
    type: str
    start: int
    end: int
    score: float


class GuardrailResult(BaseModel):
    check: str
    action: Literal["log", "redact", "block"]
    score: float
    entities: list[GuardrailEntity]


class GuardrailCheck(BaseModel):
    flagged: bool
    results: list[GuardrailResult]
    redacted_text: str
