"""The platform's own API, POST /v1/generate: a prompt in, content and accounting out.

Streaming uses the same frame vocabulary as the WebSocket chat: `token`, then `done` (or `error`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest
from apps.providers.types import ChatRequest, Event, TextDelta

from ..pipeline import Generation, StreamFailure

AVAILABLE_PIPELINES = ("auto", "direct")


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=400_000)
    system: str | None = Field(None, max_length=100_000)
    pipeline: Literal["auto", "direct", "rag", "agent"] = "auto"
    model: str = Field("auto", min_length=1, max_length=200)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    stream: bool = False

    def to_chat(self) -> ChatRequest:
        if self.pipeline not in AVAILABLE_PIPELINES:
            raise InvalidRequest(
                f"The '{self.pipeline}' pipeline is not available on this deployment yet; use 'auto' or 'direct'.",
                code=ErrorCode.PIPELINE_NOT_AVAILABLE,
                param="pipeline",
            )
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.prompt})
        return ChatRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature)


def summary(generation: Generation, content: str) -> dict[str, Any]:
    usage = generation.usage
    return {
        "request_id": generation.request_id,
        "content": content,
        "model_used": generation.model.name if generation.model else None,
        "pipeline_used": "direct",
        "tokens_in": usage.input_tokens if usage else 0,
        "tokens_out": usage.output_tokens if usage else 0,
        "latency_ms": round(generation.latency_ms, 2),
        "cached": False,
        "cost_usd": str(generation.cost_usd),
    }


def _frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


async def render_stream(generation: Generation, events: AsyncIterator[Event | StreamFailure]) -> AsyncIterator[bytes]:
    parts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
            yield _frame({"type": "token", "content": event.text})
        elif isinstance(event, StreamFailure):
            yield _frame({"type": "error", "code": event.code, "message": event.message})
            return
    yield _frame({"type": "done", **summary(generation, "".join(parts))})
