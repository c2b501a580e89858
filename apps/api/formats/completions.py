"""OpenAI's legacy Completions on the wire (`POST /v1/completions`): a prompt in, text out.

The prompt is sent upstream as the one user message of a chat request, so any chat model (and
any provider kind) can answer it; what only a raw completion model could do (`echo`, `suffix`,
per-token `logprobs`, several prompts at once) is refused, not ignored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from apps.core import money
from apps.core.errors import InvalidRequest
from apps.gateway.pipeline import Request, StreamFailure
from apps.providers.types import ChatRequest, Completion, Event, Finish, TextDelta, Usage

from . import sse
from .validation import NUMBER_ONLY, Integer, Number

LEGACY_DEFAULT_MAX_TOKENS = 16  # what the endpoint writes when max_tokens is left out, as OpenAI's does


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    max_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = LEGACY_DEFAULT_MAX_TOKENS
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    n: Annotated[int, Field(ge=1, le=1, description="One choice per request."), NUMBER_ONLY] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    presence_penalty: Number | None = Field(None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(None, ge=-2, le=2)
    seed: Integer | None = None
    user: str | None = Field(None, max_length=256)
    # What only a raw completion model could do: documented as unset, refused with its reason.
    echo: Literal[False] = False
    suffix: Literal[""] | None = None
    logprobs: None = None
    best_of: Annotated[int, Field(ge=1, le=1), NUMBER_ONLY] | None = None

    @model_validator(mode="before")
    @classmethod
    def _raw_model_only(cls, body: Any) -> Any:
        raw_only = isinstance(body, dict) and (body.get("echo") is True or body.get("suffix"))
        if raw_only or (isinstance(body, dict) and body.get("logprobs") is not None):
            raise InvalidRequest("echo, suffix and logprobs need a raw completion model; use chat completions.")
        return body

    def to_chat(self) -> ChatRequest:
        prompt = self.prompt if isinstance(self.prompt, str) else self.prompt[0]
        return ChatRequest(
            messages=[{"role": "user", "content": prompt}], max_tokens=self.max_tokens, temperature=self.temperature,
            top_p=self.top_p, stop=[self.stop] if isinstance(self.stop, str) else self.stop,
            presence_penalty=self.presence_penalty, frequency_penalty=self.frequency_penalty, seed=self.seed,
            user=self.user,
        )  # fmt: skip


def _usage(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(0, 0)
    total = usage.input_tokens + usage.output_tokens
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens, "total_tokens": total}


def _id(request: Request) -> str:
    return "cmpl-" + request.request_id.removeprefix("req_")


def render(request: Request, completion: Completion) -> dict[str, Any]:
    choice = {"text": completion.text or "", "index": 0, "logprobs": None, "finish_reason": completion.finish_reason}
    return {
        "id": _id(request), "object": "text_completion", "created": int(time.time()), "model": request.model_name,
        "choices": [choice], "usage": _usage(completion.usage),
    }  # fmt: skip


async def render_stream(
    request: Request, events: AsyncIterator[Event | StreamFailure], include_usage: bool
) -> AsyncIterator[bytes]:
    base = {"id": _id(request), "object": "text_completion", "created": int(time.time()), "model": request.model_name}

    def chunk(text: str, finish: str | None = None) -> bytes:
        return sse.data({**base, "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]})

    async for event in events:
        if isinstance(event, TextDelta) and event.text:
            yield chunk(event.text)
        elif isinstance(event, Finish):
            yield chunk("", event.reason)
        elif isinstance(event, StreamFailure):
            yield sse.data(event.error.envelope())
            return
    if include_usage:
        yield sse.data(
            {**base, "choices": [], "usage": {**_usage(request.usage), "cost_usd": money.usd(request.cost_usd)}}
        )
    yield sse.DONE
