"""The platform's own API, POST /v1/generate: a prompt in, content and accounting out.

Streaming uses the same frame vocabulary as the WebSocket chat: `token`, then `done` (or `error`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from apps.chat import frames
from apps.core import money
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest
from apps.gateway.pipeline import Request, StreamFailure
from apps.providers.types import ChatRequest, Completion, Event, TextDelta

from . import sse
from .validation import NUMBER_ONLY, Number

FUTURE_PIPELINES = ("agent",)  # named in the API, refused with its own code until built


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=400_000)
    system: str | None = Field(None, max_length=100_000)
    pipeline: Literal["auto", "direct", "rag"] = Field(
        "auto",
        description="'rag' answers from `vector_store_ids` with citations ('auto' too when they are given); "
        "'agent' is not available yet.",
    )
    vector_store_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=10)] = []
    model: str = Field("auto", min_length=1, max_length=200)
    max_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = None
    temperature: Number | None = Field(None, ge=0, le=2)
    stream: StrictBool = False

    @field_validator("pipeline", mode="before")
    @classmethod
    def _available(cls, pipeline: Any) -> Any:
        if pipeline in FUTURE_PIPELINES:
            raise InvalidRequest(
                f"The '{pipeline}' pipeline is not available on this deployment yet; use 'auto', 'direct' or 'rag'.",
                code=ErrorCode.PIPELINE_NOT_AVAILABLE,
                param="pipeline",
            )
        return pipeline

    @model_validator(mode="after")
    def _sources(self) -> GenerateRequest:
        if self.pipeline == "rag" and not self.vector_store_ids:
            raise InvalidRequest("The 'rag' pipeline needs 'vector_store_ids'.", param="vector_store_ids")
        if self.pipeline == "direct" and self.vector_store_ids:
            raise InvalidRequest("'vector_store_ids' are for the 'rag' pipeline.", param="vector_store_ids")
        return self

    @property
    def retrieves(self) -> bool:
        return bool(self.vector_store_ids)

    def to_chat(self) -> ChatRequest:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.prompt})
        return ChatRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature)


def summary(request: Request, content: str) -> dict[str, Any]:
    usage = request.usage
    rag = request.retrieval is not None
    return {
        "request_id": request.request_id,
        "content": content,
        "model_used": request.model.name if request.model else None,
        "pipeline_used": "rag" if rag else "direct",
        **({"citations": request.retrieval.citations, "withheld": request.retrieval.withheld} if rag else {}),
        "tokens_in": usage.input_tokens if usage else 0,
        "tokens_out": usage.output_tokens if usage else 0,
        "latency_ms": round(request.latency_ms, 2),
        "cached": request.replayed,
        "cache": str(request.cache_status),
        "cost_usd": money.usd(request.cost_usd),
    }


def render(request: Request, completion: Completion) -> dict[str, Any]:
    return summary(request, completion.text or "")


async def render_stream(request: Request, events: AsyncIterator[Event | StreamFailure]) -> AsyncIterator[bytes]:
    parts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
            yield sse.data({"type": "token", "content": event.text})
        elif isinstance(event, StreamFailure):
            yield sse.data(frames.error(None, event.error))
            return
    yield sse.data({"type": "done", **summary(request, "".join(parts))})
