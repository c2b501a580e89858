"""The normalised request, stream events and results every adapter speaks.

Requests use the OpenAI chat message format as the canonical form; the Anthropic transport and
adapter translate to and from it. Finish reasons use OpenAI's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ChatRequest:
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # Passed through where the provider has them; routing refuses (or drops from a chain) models
    # whose provider cannot honour what the request asks for (see apps/gateway/routing.py).
    parallel_tool_calls: bool | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    service_tier: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


def text_parts(content: object) -> list[str]:
    """The texts of a message's content, in order: the string itself, or each text part's text
    (images and other parts are left out)."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
    return []


def text_of(content: object) -> str:
    """The text of a message's content: its text parts joined."""
    return "".join(text_parts(content))


@dataclass(slots=True)
class TextDelta:
    text: str
    logprobs: dict[str, Any] | None = None  # the provider's, for the tokens of this delta (when asked for)


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    id: str | None
    name: str | None
    arguments: str


def gather(calls: dict[int, list[str]], delta: ToolCallDelta) -> None:
    """Add a streamed piece of a tool call to `calls` ([id, name, arguments] by index): the id
    and name arrive with the first piece, the arguments in pieces."""
    call = calls.setdefault(delta.index, [delta.id or "", delta.name or "", ""])
    call[1] = call[1] or delta.name or ""
    call[2] += delta.arguments


@dataclass(slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0  # read from the provider's prompt cache, part of input_tokens
    cache_write_tokens: int = 0  # written to it (Anthropic), part of input_tokens, priced apart


@dataclass(slots=True)
class Finish:
    reason: str  # "stop" | "length" | "tool_calls" | "content_filter"


Event = TextDelta | ToolCallDelta | Usage | Finish


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Completion:
    text: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage | None = None
    logprobs: dict[str, Any] | None = None


@dataclass(slots=True)
class Embeddings:
    vectors: list[list[float]]
    input_tokens: int
