"""OpenAI and OpenAI-compatible providers through the official `openai` async SDK.

Calls go through the SDK's request layer (`client.request`, what `client.post` calls) with plain
JSON payloads. The SDK still authenticates, maps HTTP errors to its exception classes and
decodes SSE. It skips the typed parameter transform and the response models, which cost about
2 ms of CPU per call here (ADR 0005), and the options come from a template
(request_options.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
from openai._models import FinalRequestOptions

from apps.catalogue.snapshot import ModelInfo

from .clients import openai_client
from .errors import from_sdk_error, reading_answer, sending
from .request_options import post_options
from .types import ChatRequest, Completion, Embeddings, Event, Finish, TextDelta, ToolCall, ToolCallDelta, Usage

_OPTIONAL = ("temperature", "top_p", "stop", "tools", "tool_choice", "response_format", "seed")
_OPTIONAL += ("presence_penalty", "frequency_penalty", "parallel_tool_calls", "user", "metadata", "service_tier")
_OPTIONAL += ("logprobs", "top_logprobs")


def _params(model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"model": model.upstream_name, "messages": _without_cache_marks(request.messages)}
    if request.max_tokens is not None:
        params["max_tokens"] = request.max_tokens
    for name in _OPTIONAL:
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    return params


def _options(path: str, body: dict, timeout: float) -> FinalRequestOptions:
    return post_options(FinalRequestOptions, path, body, timeout)


def _usage(usage: dict[str, Any] | None) -> Usage | None:
    if not usage:
        return None
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0, cached)


async def complete(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> Completion:
    client = openai_client(model.provider)
    sending()
    try:
        data = await client.request(object, _options("/chat/completions", _params(model, request), upstream_timeout))
    except Exception as error:
        raise from_sdk_error(error) from None
    with reading_answer():
        choice = data["choices"][0]
        message = choice.get("message") or {}
        calls = [
            ToolCall(id=call["id"], name=call["function"]["name"], arguments=call["function"].get("arguments") or "")
            for call in message.get("tool_calls") or ()
            if call.get("function")
        ]
        finish = choice.get("finish_reason") or "stop"
        return Completion(
            text=message.get("content"), tool_calls=calls, finish_reason=finish, usage=_usage(data.get("usage")),
            logprobs=choice.get("logprobs"),
        )  # fmt: skip


async def stream(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> AsyncIterator[Event]:
    client = openai_client(model.provider)
    sending()
    body = {**_params(model, request), "stream": True, "stream_options": {"include_usage": True}}
    try:
        upstream = await client.request(
            object, _options("/chat/completions", body, upstream_timeout), stream=True,
            stream_cls=openai.AsyncStream[object],
        )  # fmt: skip
    except Exception as error:
        raise from_sdk_error(error) from None
    try:
        async for chunk in upstream:
            if chunk.get("usage"):
                yield _usage(chunk["usage"])
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content") or choice.get("logprobs"):
                    yield TextDelta(delta.get("content") or "", choice.get("logprobs"))
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") or {}
                    yield ToolCallDelta(
                        call.get("index", 0), call.get("id"), function.get("name"), function.get("arguments") or ""
                    )
                if choice.get("finish_reason"):
                    yield Finish(choice["finish_reason"])
    except Exception as error:
        raise from_sdk_error(error) from None
    finally:
        await upstream.close()


async def embed(model: ModelInfo, inputs: list[str], dimensions: int | None, upstream_timeout: float) -> Embeddings:
    client = openai_client(model.provider)
    sending()
    body: dict[str, Any] = {"model": model.upstream_name, "input": inputs, "encoding_format": "float"}
    if dimensions:
        body["dimensions"] = dimensions
    try:
        data = await client.request(object, _options("/embeddings", body, upstream_timeout))
    except Exception as error:
        raise from_sdk_error(error) from None
    with reading_answer():
        vectors = [item["embedding"] for item in sorted(data["data"], key=lambda item: item["index"])]
        return Embeddings(vectors=vectors, input_tokens=(data.get("usage") or {}).get("prompt_tokens") or 0)


def _without_cache_marks(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic's cache_control marks left out: OpenAI caches prompt prefixes on its own."""
    if not any(
        isinstance(m.get("content"), list) and any("cache_control" in part for part in m["content"]) for m in messages
    ):
        return messages
    return [
        {**m, "content": [{k: v for k, v in part.items() if k != "cache_control"} for part in m["content"]]}
        if isinstance(m.get("content"), list)
        else m
        for m in messages
    ]
