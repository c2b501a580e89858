"""OpenAI and OpenAI-compatible providers through the official `openai` async SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from apps.catalogue.snapshot import ModelInfo

from .clients import openai_client
from .errors import from_sdk_error
from .types import ChatRequest, Completion, Embeddings, Event, Finish, TextDelta, ToolCall, ToolCallDelta, Usage

_OPTIONAL = ("temperature", "top_p", "stop", "tools", "tool_choice", "response_format", "seed")
_OPTIONAL += ("presence_penalty", "frequency_penalty")


def _params(model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"model": model.upstream_name, "messages": request.messages}
    if request.max_tokens is not None:
        params["max_tokens"] = request.max_tokens
    for name in _OPTIONAL:
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    return params


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) or 0 if details is not None else 0
    return Usage(
        input_tokens=usage.prompt_tokens or 0, output_tokens=usage.completion_tokens or 0, cached_tokens=cached
    )


async def complete(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> Completion:
    client = openai_client(model.provider)
    try:
        response = await client.chat.completions.create(**_params(model, request), timeout=upstream_timeout)
    except Exception as error:
        raise from_sdk_error(error) from None
    choice = response.choices[0]
    message = choice.message
    calls = [
        ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
        for call in message.tool_calls or ()
        if getattr(call, "function", None) is not None
    ]
    return Completion(
        text=message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason or "stop",
        usage=_usage(response.usage),
    )


async def stream(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> AsyncIterator[Event]:
    client = openai_client(model.provider)
    try:
        upstream = await client.chat.completions.create(
            **_params(model, request), stream=True, stream_options={"include_usage": True}, timeout=upstream_timeout
        )
    except Exception as error:
        raise from_sdk_error(error) from None
    try:
        async for chunk in upstream:
            if chunk.usage is not None:
                yield _usage(chunk.usage)
            for choice in chunk.choices:
                delta = choice.delta
                if delta is not None:
                    if delta.content:
                        yield TextDelta(delta.content)
                    for call in delta.tool_calls or ():
                        function = call.function
                        yield ToolCallDelta(
                            index=call.index,
                            id=call.id,
                            name=function.name if function else None,
                            arguments=(function.arguments or "") if function else "",
                        )
                if choice.finish_reason:
                    yield Finish(choice.finish_reason)
    except Exception as error:
        raise from_sdk_error(error) from None
    finally:
        await upstream.close()


async def embed(model: ModelInfo, inputs: list[str], dimensions: int | None, upstream_timeout: float) -> Embeddings:
    client = openai_client(model.provider)
    extra = {"dimensions": dimensions} if dimensions else {}
    try:
        response = await client.embeddings.create(
            model=model.upstream_name, input=inputs, encoding_format="float", timeout=upstream_timeout, **extra
        )
    except Exception as error:
        raise from_sdk_error(error) from None
    vectors = [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
    return Embeddings(vectors=vectors, input_tokens=response.usage.prompt_tokens if response.usage else 0)
