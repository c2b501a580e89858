"""Answers that must be JSON. When a request's `response_format` is a JSON schema (or
`json_object`), its answer must parse and match. If it does not, the model is asked once more,
shown its answer and the first validation error. If that answer fails too, the request gets 502
`invalid_model_output`.

The retry is a pipeline request of its own (endpoint `format-retry`, request id
`<request id>:format-retry`): it holds its own budget, is rate-limited, metered and audited, and
is never cached. A streamed answer has already been sent by the time it ends, so it is checked
when it ends: an invalid one ends with an `invalid_model_output` error event instead of its finish.
This stage runs before the cache's capture, so only a valid answer is ever stored."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from apps.core.error_codes import ErrorCode
from apps.core.errors import UpstreamFailed
from apps.core.stage import Stage
from apps.providers.types import ChatRequest, Event, Finish, TextDelta, ToolCallDelta, Usage
from apps.tenancy.principal import Principal

RETRY_ENDPOINT = "format-retry"


class InvalidModelOutput(UpstreamFailed):
    default_code = ErrorCode.INVALID_MODEL_OUTPUT


class Formatted(Protocol):
    principal: Principal
    request_id: str
    endpoint: str
    requested_model: str
    chat: ChatRequest
    stream: bool


def schema_of(chat: ChatRequest) -> dict[str, Any] | None:
    """The schema an answer must match ({"type": "object"} for json_object), or None."""
    response_format = chat.response_format or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    return None


def problem(text: str, schema: dict[str, Any]) -> str | None:
    """Why `text` is not a valid answer, in a sentence; None when it is."""
    try:
        value = json.loads(text)
    except ValueError as error:
        return f"the answer is not JSON ({error.msg} at character {error.pos})"
    try:
        failure = next(iter(sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: e.path)), None)
    except SchemaError:
        return None  # the request's own schema is broken: nothing to hold the answer to
    if failure is None:
        return None
    where = "/".join(str(part) for part in failure.absolute_path) or "the top level"
    return f"at {where}: {failure.message}"


async def _retried(request: Formatted, answer: str, why: str) -> str | None:
    from apps.gateway import pipeline  # the pipeline's stages include this one

    correction = (
        f"Your answer does not match the required JSON format: {why}. "
        "Answer again with only the JSON, matching the schema exactly."
    )
    messages = [
        *request.chat.messages,
        {"role": "assistant", "content": answer},
        {"role": "user", "content": correction},
    ]
    retry = pipeline.on_behalf(
        request.principal, request.request_id, RETRY_ENDPOINT, request.requested_model,
        dataclasses.replace(request.chat, messages=messages),
    )  # fmt: skip
    await pipeline.start(retry)
    return (await pipeline.complete(retry)).text


async def enforce(request: Formatted, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    schema = schema_of(request.chat) if request.endpoint != RETRY_ENDPOINT else None
    if schema is None:
        async for event in events:
            yield event
        return
    if request.stream:
        async for checked in _streamed(events, schema):
            yield checked
        return
    answered = [event async for event in events]  # not streamed: the client waits for all of it anyway
    if any(isinstance(event, ToolCallDelta) for event in answered):
        for event in answered:
            yield event
        return
    text = "".join(event.text for event in answered if isinstance(event, TextDelta))
    why = problem(text, schema)
    if why is not None:
        text = await _retried(request, text, why) or ""
        again = problem(text, schema)
        if again is not None:
            raise InvalidModelOutput(f"The model's answer does not match the requested format, twice: {again}.")
        answered = [TextDelta(text), *(event for event in answered if isinstance(event, (Usage, Finish)))]
    for event in answered:
        yield event


async def _streamed(events: AsyncIterator[Event], schema: dict[str, Any]) -> AsyncIterator[Event]:
    parts: list[str] = []
    tools = False
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ToolCallDelta):
            tools = True
        elif isinstance(event, Finish) and not tools:
            why = problem("".join(parts), schema)
            if why is not None:
                raise InvalidModelOutput(f"The model's answer does not match the requested format: {why}.")
        yield event


stage = Stage("format", relay=enforce, span=False)
