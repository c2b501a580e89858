"""The platform's own API, POST /v1/generate: a prompt in, content and accounting out.

Streaming uses the same frame vocabulary as the WebSocket chat: `token`, then `done` (or `error`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from apps.chat import frames
from apps.core import money
from apps.core.errors import InvalidRequest
from apps.gateway.pipeline import Request, StreamFailure
from apps.providers.types import ChatRequest, Completion, Event, TextDelta
from apps.tools.agent import Agent, ToolCallEvent

from . import sse
from .validation import NUMBER_ONLY, Number

ToolName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=400_000)
    system: str | None = Field(None, max_length=100_000)
    pipeline: Literal["auto", "direct", "rag", "agent"] = Field(
        "auto",
        description="'rag' answers from `vector_store_ids` with citations ('auto' too when they are given); "
        "'agent' lets the model call `tools` until it answers or a limit ends the run; 'auto' also offers the "
        "tools the tenant's agent policy names for the use case.",
    )
    vector_store_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=10)] = []
    tools: Annotated[list[ToolName], Field(max_length=32)] = []
    max_steps: Annotated[int, Field(ge=1, le=32), NUMBER_ONLY] | None = None
    max_tool_calls: Annotated[int, Field(ge=1, le=64), NUMBER_ONLY] | None = None
    max_seconds: Number | None = Field(None, gt=0, le=600)
    model: str = Field("auto", min_length=1, max_length=200)
    max_tokens: Annotated[int, Field(ge=1), NUMBER_ONLY] | None = None
    temperature: Number | None = Field(None, ge=0, le=2)
    stream: StrictBool = False

    @model_validator(mode="after")
    def _sources(self) -> GenerateRequest:
        if self.pipeline == "rag" and not self.vector_store_ids:
            raise InvalidRequest("The 'rag' pipeline needs 'vector_store_ids'.", param="vector_store_ids")
        if self.pipeline == "direct" and self.vector_store_ids:
            raise InvalidRequest("'vector_store_ids' are for the 'rag' pipeline.", param="vector_store_ids")
        if self.pipeline == "agent" and not self.tools:
            raise InvalidRequest(
                "The 'agent' pipeline needs 'tools', the names of the tools it may call.", param="tools"
            )
        if self.tools and self.pipeline not in ("agent", "auto"):
            raise InvalidRequest("'tools' are for the 'agent' pipeline.", param="tools")
        return self

    @property
    def retrieves(self) -> bool:
        return bool(self.vector_store_ids)

    def agent(self) -> Agent | None:
        """The run's tools and limits: the named tools ('agent', or 'auto' naming some), the tenant's
        policy for the use case ('auto' naming none), none otherwise."""
        limits = {"max_steps": self.max_steps or 0, "max_tool_calls": self.max_tool_calls or 0,
                  "max_seconds": float(self.max_seconds or 0)}  # fmt: skip
        if self.tools:
            return Agent(list(self.tools), **limits)
        if self.pipeline == "auto":
            return Agent([], auto=True, **limits)
        return None

    def to_chat(self) -> ChatRequest:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.prompt})
        return ChatRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature)


def summary(request: Request, content: str) -> dict[str, Any]:
    usage = request.usage
    rag, agent = request.retrieval is not None, request.agent
    acted = agent is not None and (agent.used_tools or not agent.auto)
    return {
        "request_id": request.request_id,
        "content": content,
        "model_used": request.model.name if request.model else None,
        "pipeline_used": "agent" if acted else "rag" if rag else "direct",
        **({"citations": request.retrieval.citations, "withheld": request.retrieval.withheld} if rag else {}),
        **({"steps": agent.steps, "finish_reason": agent.finish_reason} if acted else {}),
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
        elif isinstance(event, ToolCallEvent):
            yield sse.data(event.frame())
        elif isinstance(event, StreamFailure):
            yield sse.data(frames.error(None, event.error))
            return
    yield sse.data({"type": "done", **summary(request, "".join(parts))})
