"""Anthropic Messages on the wire: request schema, translation to the canonical form, and the
response and streaming event rendering the `anthropic` SDK expects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from apps.gateway.pipeline import Request, StreamFailure
from apps.providers.types import ChatRequest, Completion, Event, Finish, TextDelta, ToolCallDelta, Usage

from . import sse
from .validation import NUMBER_ONLY, Integer, Number

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CacheControl(_Base):
    """Anthropic prompt caching: the prompt up to this block is cached by the provider."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class TextBlock(_Base):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None

    def part(self) -> dict[str, Any]:
        """As a canonical text part; a cache_control mark goes along to providers that honour it."""
        if self.cache_control is None:
            return {"type": "text", "text": self.text}
        return {"type": "text", "text": self.text, "cache_control": self.cache_control.model_dump(exclude_none=True)}


class ImageSource(_Base):
    type: Literal["base64", "url"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ImageBlock(_Base):
    type: Literal["image"]
    source: ImageSource


class ToolUseBlock(_Base):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Base):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: StrictBool | None = None


Block = Annotated[TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")]


class InputMessage(_Base):
    role: Literal["user", "assistant"]
    content: str | Annotated[list[Block], Field(min_length=1)]


class ToolDef(_Base):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoice(_Base):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None


class OutputFormat(_Base):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(_Base):
    format: OutputFormat | None = None


class MessagesRequest(_Base):
    model: str = Field(min_length=1, max_length=200)
    max_tokens: Integer = Field(ge=1)
    messages: list[InputMessage] = Field(min_length=1, max_length=10_000)
    system: str | list[TextBlock] | None = None
    temperature: Number | None = Field(None, ge=0, le=1)
    top_p: Number | None = Field(None, ge=0, le=1)
    top_k: Annotated[int, Field(ge=0), NUMBER_ONLY] | None = None
    stop_sequences: list[str] | None = Field(None, max_length=16)
    stream: StrictBool = False
    tools: list[ToolDef] | None = Field(None, max_length=128)
    tool_choice: ToolChoice | None = None
    output_config: OutputConfig | None = None  # structured output: the answer is JSON of this schema
    output_format: OutputFormat | None = None  # the same, as its beta named it
    metadata: dict[str, Any] | None = None

    def _response_format(self) -> dict[str, Any] | None:
        chosen = (self.output_config.format if self.output_config else None) or self.output_format
        if chosen is None:
            return None
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": chosen.schema_, "strict": True}}

    def to_chat(self) -> ChatRequest:
        messages: list[dict[str, Any]] = []
        if isinstance(self.system, list) and any(b.cache_control for b in self.system):
            messages.append({"role": "system", "content": [b.part() for b in self.system]})
        elif self.system:
            text = self.system if isinstance(self.system, str) else "".join(b.text for b in self.system)
            messages.append({"role": "system", "content": text})
        for message in self.messages:
            messages.extend(_canonical(message))
        return ChatRequest(
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stop_sequences,
            tools=[
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description or "", "parameters": t.input_schema},
                }
                for t in self.tools
            ]
            if self.tools
            else None,
            tool_choice=_tool_choice(self.tool_choice),
            response_format=self._response_format(),
            user=str((self.metadata or {}).get("user_id") or "") or None,
        )


class CountTokensRequest(MessagesRequest):
    """A Messages request to count, not to answer: it names no max_tokens."""

    max_tokens: Integer = Field(1, ge=1)


def _tool_choice(choice: ToolChoice | None) -> str | dict[str, Any] | None:
    if choice is None:
        return None
    if choice.type == "tool":
        return {"type": "function", "function": {"name": choice.name or ""}}
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]


def _image_part(block: ImageBlock) -> dict[str, Any]:
    source = block.source
    url = source.url if source.type == "url" else f"data:{source.media_type};base64,{source.data}"
    return {"type": "image_url", "image_url": {"url": url}}


def _canonical(message: InputMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    if message.role == "assistant":
        text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
        calls = [
            {"id": b.id, "type": "function", "function": {"name": b.name, "arguments": json.dumps(b.input)}}
            for b in message.content
            if isinstance(b, ToolUseBlock)
        ]
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            out["tool_calls"] = calls
        return [out]
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            content = block.content
            text = (
                content
                if isinstance(content, str)
                else "".join(b.text for b in content or () if isinstance(b, TextBlock))
            )
            results.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": text})
        elif isinstance(block, TextBlock):
            parts.append(block.part())
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _usage(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(0, 0)
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens - usage.cache_write_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def _message_id(request: Request) -> str:
    return "msg_" + request.request_id.removeprefix("req_")


def render(request: Request, completion: Completion) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if completion.text:
        content.append({"type": "text", "text": completion.text})
    for call in completion.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": json.loads(call.arguments or "{}")}
        )
    return {
        "id": _message_id(request),
        "type": "message",
        "role": "assistant",
        "model": request.model.name,
        "content": content,
        "stop_reason": STOP_REASONS.get(completion.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": _usage(completion.usage),
    }


async def render_stream(request: Request, events: AsyncIterator[Event | StreamFailure]) -> AsyncIterator[bytes]:
    """The Anthropic event sequence: message_start, content blocks with deltas, message_delta, message_stop."""
    message = {
        "id": _message_id(request), "type": "message", "role": "assistant", "model": request.model.name,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0},
    }  # fmt: skip
    yield sse.event("message_start", {"message": message})
    index, open_kind, stop_reason = -1, None, "end_turn"
    tool_block_of: dict[int, int] = {}
    async for event in events:
        if isinstance(event, TextDelta):
            if open_kind != "text":
                if open_kind is not None:
                    yield sse.event("content_block_stop", {"index": index})
                index, open_kind = index + 1, "text"
                yield sse.event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            yield sse.event(
                "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": event.text}}
            )
        elif isinstance(event, ToolCallDelta):
            if event.id is not None or event.index not in tool_block_of:
                if open_kind is not None:
                    yield sse.event("content_block_stop", {"index": index})
                index, open_kind = index + 1, "tool_use"
                tool_block_of[event.index] = index
                block = {"type": "tool_use", "id": event.id or f"toolu_{index}", "name": event.name or "", "input": {}}
                yield sse.event("content_block_start", {"index": index, "content_block": block})
            if event.arguments:
                delta = {"type": "input_json_delta", "partial_json": event.arguments}
                yield sse.event("content_block_delta", {"index": tool_block_of[event.index], "delta": delta})
        elif isinstance(event, Finish):
            stop_reason = STOP_REASONS.get(event.reason, "end_turn")
        elif isinstance(event, StreamFailure):
            yield sse.event("error", {"error": event.error.anthropic_envelope()["error"]})
            return
    if open_kind is not None:
        yield sse.event("content_block_stop", {"index": index})
    yield sse.event(
        "message_delta",
        {"delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": _usage(request.usage)},
    )
    yield sse.event("message_stop", {})
