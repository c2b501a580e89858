"""OpenAI Chat Completions on the wire: request schema, response and SSE chunk rendering."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from apps.core import money
from apps.gateway.pipeline import Request, StreamFailure
from apps.providers.types import ChatRequest, Completion, Event, Finish, TextDelta, ToolCallDelta, Usage

from . import sse
from .anthropic_messages import CacheControl
from .validation import NUMBER_ONLY, Integer, Number


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Base):
    type: Literal["text"]
    text: str
    # Anthropic prompt caching from an OpenAI-format request (as LiteLLM and others accept it):
    # honoured by Anthropic models, left out for the others.
    cache_control: CacheControl | None = None


class ImageUrl(_Base):
    url: str = Field(max_length=20_000_000)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Base):
    type: Literal["image_url"]
    image_url: ImageUrl


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(_Base):
    name: str
    arguments: str


class ToolCallIn(_Base):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Base):
    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Base):
    role: Literal["user"]
    content: str | list[Part]
    name: str | None = None


class AssistantMessage(_Base):
    role: Literal["assistant"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    name: str | None = None


class ToolMessage(_Base):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class FunctionDef(_Base):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Base):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Base):
    name: str


class NamedToolChoice(_Base):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_Base):
    include_usage: StrictBool = False


class ResponseFormat(_Base):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(_Base):
    """The subset of the OpenAI request Catalyst honours; unknown fields are ignored, as OpenAI does."""

    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=10_000)
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    max_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = None
    n: Annotated[int, Field(ge=1, le=1, description="Only one choice is supported."), NUMBER_ONLY] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    tools: list[Tool] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    seed: Integer | None = None
    presence_penalty: Number | None = Field(None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(None, ge=-2, le=2)
    user: str | None = Field(None, max_length=256)
    parallel_tool_calls: StrictBool | None = None
    metadata: dict[str, str] | None = Field(None, max_length=16)
    service_tier: Literal["auto", "default", "flex", "priority", "scale"] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20), NUMBER_ONLY] | None = None

    def to_chat(self) -> ChatRequest:
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        return ChatRequest(
            messages=[m.model_dump(exclude_none=True) for m in self.messages],
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stop,
            tools=[t.model_dump(exclude_none=True) for t in self.tools] if self.tools else None,
            tool_choice=self.tool_choice.model_dump() if isinstance(self.tool_choice, BaseModel) else self.tool_choice,
            response_format=self.response_format.model_dump(exclude_none=True) if self.response_format else None,
            seed=self.seed,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
            parallel_tool_calls=self.parallel_tool_calls,
            user=self.user,
            metadata=self.metadata,
            service_tier=self.service_tier,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs,
        )


def _usage(usage: Usage | None) -> dict[str, Any]:
    usage = usage or Usage(0, 0)
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def _completion_id(request: Request) -> str:
    return "chatcmpl-" + request.request_id.removeprefix("req_")


def render(request: Request, completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.text, "refusal": None}
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in completion.tool_calls
        ]
    return {
        "id": _completion_id(request),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model.name,
        "choices": [
            {"index": 0, "message": message, "finish_reason": completion.finish_reason, "logprobs": completion.logprobs}
        ],
        "usage": _usage(completion.usage),
    }


async def render_stream(
    request: Request, events: AsyncIterator[Event | StreamFailure], include_usage: bool
) -> AsyncIterator[bytes]:
    """SSE chunks as the OpenAI SDK expects; a failure after the first token ends with an error frame."""
    base = {"id": _completion_id(request), "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = request.model.name

    def chunk(delta: dict[str, Any], finish: str | None = None, logprobs: dict | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}
        return sse.data({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    async for event in events:
        if isinstance(event, TextDelta):
            yield chunk({"content": event.text}, logprobs=event.logprobs)
        elif isinstance(event, ToolCallDelta):
            call: dict[str, Any] = {"index": event.index, "function": {"arguments": event.arguments}}
            if event.id:
                call.update(id=event.id, type="function")
            if event.name:
                call["function"]["name"] = event.name
            yield chunk({"tool_calls": [call]})
        elif isinstance(event, Finish):
            yield chunk({}, event.reason)
        elif isinstance(event, StreamFailure):
            yield sse.data(event.error.envelope())
            return
    if include_usage:
        usage = {**_usage(request.usage), "cost_usd": money.usd(request.cost_usd)}
        yield sse.data({**base, "choices": [], "usage": usage})
    yield sse.DONE
