"""Anthropic providers through the official `anthropic` async SDK.

Translates the canonical (OpenAI-format) request into Anthropic Messages and Anthropic's
responses and stream events back into the normalised types. Like the OpenAI adapter, it uses the
SDK's request layer with plain JSON payloads (ADR 0005).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic._models import FinalRequestOptions

from apps.catalogue.snapshot import ModelInfo

from .capabilities import ANTHROPIC_SERVICE_TIERS
from .clients import anthropic_client
from .errors import from_sdk_error, reading_answer, sending
from .request_options import post_options
from .types import ChatRequest, Completion, Event, Finish, TextDelta, ToolCall, ToolCallDelta, Usage, text_of

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
STOP_REASONS["refusal"] = "content_filter"


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for part in content:
        if part.get("type") == "text":
            blocks.append(_text_block(part))
        elif part.get("type") == "image_url":
            blocks.append({"type": "image", "source": {"type": "url", "url": part["image_url"]["url"]}})
    return blocks


def _text_block(part: dict[str, Any]) -> dict[str, Any]:
    block = {"type": "text", "text": part["text"]}
    if part.get("cache_control"):
        block["cache_control"] = part["cache_control"]
    return block


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Anthropic wants alternating roles: merge consecutive turns of the same role."""
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def translate_messages(canonical: list[dict[str, Any]]) -> tuple[str | list | None, list[dict[str, Any]]]:
    """The system prompt (a string, or blocks when some carry a cache_control mark) and the turns."""
    system_parts: list[str] = []
    system_blocks: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in canonical:
        role = message["role"]
        if role in ("system", "developer"):
            system_parts.append(text_of(message["content"]))
            content = message["content"]
            parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            system_blocks.extend(_text_block(p) for p in parts if p.get("type") == "text")
        elif role == "user":
            _append(messages, "user", _user_blocks(message["content"]))
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if text := text_of(message.get("content")):
                blocks.append({"type": "text", "text": text})
            for call in message.get("tool_calls") or ():
                arguments = call["function"].get("arguments") or "{}"
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": call["function"]["name"],
                        "input": json.loads(arguments),
                    }
                )
            _append(messages, "assistant", blocks or [{"type": "text", "text": ""}])
        elif role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": text_of(message["content"]),
            }
            _append(messages, "user", [result])
    if any("cache_control" in block for block in system_blocks):
        return system_blocks, messages
    return ("\n\n".join(system_parts) or None), messages


def _tool_choice(choice: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if choice is None or choice == "auto":
        return None if choice is None else {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice["function"]["name"]}


def _params(model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
    system, messages = translate_messages(request.messages)
    params: dict[str, Any] = {
        "model": model.upstream_name,
        "messages": messages,
        "max_tokens": request.max_tokens or model.max_output_tokens,
    }
    if system:
        params["system"] = system
    if request.temperature is not None:
        params["temperature"] = min(request.temperature, 1.0)
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.stop:
        params["stop_sequences"] = request.stop
    if request.tools:
        params["tools"] = [
            {
                "name": tool["function"]["name"],
                "description": tool["function"].get("description", ""),
                "input_schema": tool["function"].get("parameters") or {"type": "object", "properties": {}},
            }
            for tool in request.tools
        ]
    if (choice := _tool_choice(request.tool_choice)) is not None:
        params["tool_choice"] = choice
    if request.parallel_tool_calls is False and request.tools:
        params["tool_choice"] = {**params.get("tool_choice", {"type": "auto"}), "disable_parallel_tool_use": True}
    if request.user:
        params["metadata"] = {"user_id": request.user}
    if request.service_tier is not None:
        params["service_tier"] = ANTHROPIC_SERVICE_TIERS[request.service_tier]
    if (answer_tool := structured_output_tool(request)) is not None:
        params["tools"], params["tool_choice"] = [answer_tool], {"type": "tool", "name": answer_tool["name"]}
    return params


def structured_output_tool(request: ChatRequest) -> dict[str, Any] | None:
    """Anthropic's structured output: a tool whose input is the answer, forced (capabilities.py
    refuses it beside the request's own tools). Its input comes back as the answer's text."""
    response_format = request.response_format or {}
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        name = spec.get("name") or "answer"
    elif response_format.get("type") == "json_object":
        schema, name = {"type": "object"}, "answer"
    else:
        return None
    return {"name": name[:64], "description": "Give the answer as this tool's input.", "input_schema": schema}


def _usage(usage: dict[str, Any] | None) -> Usage:
    """Anthropic counts cached reads and writes apart from input_tokens; the canonical count includes them."""
    usage = usage or {}
    cached = usage.get("cache_read_input_tokens") or 0
    created = usage.get("cache_creation_input_tokens") or 0
    return Usage(
        input_tokens=(usage.get("input_tokens") or 0) + cached + created,
        output_tokens=usage.get("output_tokens") or 0,
        cached_tokens=cached,
        cache_write_tokens=created,
    )


async def complete(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> Completion:
    client = anthropic_client(model.provider)
    sending()
    try:
        data = await client.request(
            object, post_options(FinalRequestOptions, "/v1/messages", _params(model, request), upstream_timeout)
        )
    except Exception as error:
        raise from_sdk_error(error) from None
    with reading_answer():
        blocks = data.get("content") or []
        texts = [block["text"] for block in blocks if block.get("type") == "text"]
        calls = [
            ToolCall(id=block["id"], name=block["name"], arguments=json.dumps(block.get("input") or {}))
            for block in blocks
            if block.get("type") == "tool_use"
        ]
        finish = STOP_REASONS.get(data.get("stop_reason") or "end_turn", "stop")
        if structured_output_tool(request) is not None:  # the forced tool's input is the answer
            texts, calls, finish = [call.arguments for call in calls], [], "stop" if finish == "tool_calls" else finish
        return Completion(
            text="".join(texts) if texts or not calls else None,
            tool_calls=calls,
            finish_reason=finish,
            usage=_usage(data.get("usage")),
        )


async def stream(model: ModelInfo, request: ChatRequest, upstream_timeout: float) -> AsyncIterator[Event]:
    client = anthropic_client(model.provider)
    sending()
    try:
        body = {**_params(model, request), "stream": True}
        upstream = await client.request(
            object, post_options(FinalRequestOptions, "/v1/messages", body, upstream_timeout), stream=True,
            stream_cls=anthropic.AsyncStream[object],
        )  # fmt: skip
    except Exception as error:
        raise from_sdk_error(error) from None
    start_usage: dict[str, Any] = {}
    tool_index_of_block: dict[int, int] = {}
    structured = structured_output_tool(request) is not None  # the forced tool's input streams as text
    try:
        async for event in upstream:
            kind = event.get("type")
            if kind == "content_block_delta":
                delta = event["delta"]
                if delta.get("type") == "text_delta":
                    yield TextDelta(delta["text"])
                elif delta.get("type") == "input_json_delta" and structured:
                    yield TextDelta(delta.get("partial_json") or "")
                elif delta.get("type") == "input_json_delta":
                    yield ToolCallDelta(
                        tool_index_of_block[event["index"]], None, None, delta.get("partial_json") or ""
                    )
            elif kind == "content_block_start" and event["content_block"].get("type") == "tool_use" and structured:
                continue
            elif kind == "content_block_start" and event["content_block"].get("type") == "tool_use":
                tool_index_of_block[event["index"]] = len(tool_index_of_block)
                block = event["content_block"]
                yield ToolCallDelta(tool_index_of_block[event["index"]], block["id"], block["name"], "")
            elif kind == "message_start":
                start_usage = (event.get("message") or {}).get("usage") or {}
            elif kind == "message_delta":
                merged = _usage(
                    {**start_usage, **{k: v for k, v in (event.get("usage") or {}).items() if v is not None}}
                )
                yield merged
                finish = STOP_REASONS.get((event.get("delta") or {}).get("stop_reason") or "end_turn", "stop")
                yield Finish("stop" if structured and finish == "tool_calls" else finish)
    except Exception as error:
        raise from_sdk_error(error) from None
    finally:
        await upstream.close()
