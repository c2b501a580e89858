"""Calling a route of models: breaker, retries with backoff that honour Retry-After, deadlines,
and fallback to the next model. A failure before the first event is invisible to the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from apps.catalogue.snapshot import ModelInfo
from apps.observability import tracing
from apps.providers.errors import FailureKind, ProviderError
from apps.providers.registry import adapter_for
from apps.providers.types import ChatRequest, Completion, Embeddings, Event

from . import breaker


@dataclass(slots=True)
class Attempt:
    model: str
    provider: str
    outcome: str  # "ok" or a FailureKind, or "breaker_open"
    latency_ms: float
    status: int | None = None

    def short(self) -> str:
        return f"{self.model}:{self.outcome}"


@dataclass(slots=True)
class Trace:
    """What happened on the way to the provider, for the response, the log line and the usage record."""

    deadline: float  # time.monotonic() by which everything must be done
    attempts: list[Attempt] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class AllProvidersFailed(Exception):
    def __init__(self, attempts: list[Attempt], last: ProviderError | None) -> None:
        super().__init__("every provider in the chain failed")
        self.attempts = attempts
        self.last = last

    @property
    def timed_out(self) -> bool:
        outcomes = {a.outcome for a in self.attempts}
        return bool(outcomes) and outcomes <= {FailureKind.TIMEOUT, "deadline"}

    @property
    def all_breakers_open(self) -> bool:
        return bool(self.attempts) and all(a.outcome == "breaker_open" for a in self.attempts)


def breaker_key(model: ModelInfo) -> str:
    return f"{model.provider.name}/{model.upstream_name}"


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never shorter than the provider's Retry-After."""
    ceiling = min(settings.GATEWAY_BACKOFF_MAX_SECONDS, settings.GATEWAY_BACKOFF_BASE_SECONDS * 2**attempt)
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
    return max(delay, retry_after or 0.0)


Call = Callable[[ModelInfo, float], Awaitable]


async def _call_route(route: list[ModelInfo], trace: Trace, call: Call) -> tuple[ModelInfo, object]:
    """Try each model of the route in order; return the first success and its result."""
    last: ProviderError | None = None
    for model in route:
        key = breaker_key(model)
        for attempt in range(settings.GATEWAY_RETRIES_PER_MODEL + 1):
            remaining = trace.remaining()
            if remaining <= 0:
                trace.attempts.append(Attempt(model.name, model.provider.name, "deadline", 0.0))
                raise AllProvidersFailed(trace.attempts, last)
            decision = await breaker.allow(key)
            if not decision.allowed:
                trace.attempts.append(Attempt(model.name, model.provider.name, "breaker_open", 0.0))
                break
            started, started_ns = time.perf_counter(), time.time_ns()
            try:
                timeout = min(model.provider.timeout_seconds, remaining)
                async with asyncio.timeout(timeout):
                    result = await call(model, timeout)
            except (ProviderError, TimeoutError) as raw:
                error = raw if isinstance(raw, ProviderError) else ProviderError("timed out", kind=FailureKind.TIMEOUT)
                elapsed = (time.perf_counter() - started) * 1000
                trace.attempts.append(Attempt(model.name, model.provider.name, error.kind, elapsed, error.status))
                tracing.attempt(model.name, model.provider.name, str(error.kind), started_ns, time.time_ns())
                last = error
                if not error.falls_back:
                    raise
                state = await breaker.record_failure(key) if error.counts_against_provider else breaker.CLOSED
                if not error.retryable or state == breaker.OPEN or attempt == settings.GATEWAY_RETRIES_PER_MODEL:
                    break
                delay = backoff_delay(attempt, error.retry_after)
                if delay >= trace.remaining():
                    break
                await asyncio.sleep(delay)
                continue
            trace.attempts.append(
                Attempt(model.name, model.provider.name, "ok", (time.perf_counter() - started) * 1000)
            )
            tracing.attempt(model.name, model.provider.name, "ok", started_ns, time.time_ns())
            await breaker.record_success(key, decision)
            return model, result
    raise AllProvidersFailed(trace.attempts, last)


def for_model(request: ChatRequest, model: ModelInfo) -> ChatRequest:
    """The request as one model of the route gets it: the output cap no higher than it writes."""
    if request.max_tokens is not None and request.max_tokens > model.max_output_tokens:
        return dataclasses.replace(request, max_tokens=model.max_output_tokens)
    return request


async def complete(route: list[ModelInfo], request: ChatRequest, trace: Trace) -> tuple[ModelInfo, Completion]:
    async def call(model: ModelInfo, limit: float) -> Completion:
        return await adapter_for(model.provider.kind).complete(model, for_model(request, model), limit)

    return await _call_route(route, trace, call)


async def embed(
    route: list[ModelInfo], inputs: list[str], dimensions: int | None, trace: Trace
) -> tuple[ModelInfo, Embeddings]:
    async def call(model: ModelInfo, limit: float) -> Embeddings:
        return await adapter_for(model.provider.kind).embed(model, inputs, dimensions, limit)

    return await _call_route(route, trace, call)


@dataclass(slots=True)
class OpenedStream:
    model: ModelInfo
    first: Event
    rest: AsyncIterator[Event]


async def open_stream(route: list[ModelInfo], request: ChatRequest, trace: Trace) -> OpenedStream:
    """Start streaming from the first model that produces an event; later failures are the caller's."""

    async def call(model: ModelInfo, limit: float) -> OpenedStream:
        events = adapter_for(model.provider.kind).stream(model, for_model(request, model), limit)
        try:
            first = await anext(events)
        except StopAsyncIteration:
            raise ProviderError("The provider ended the stream at once.", kind=FailureKind.DROPPED) from None
        except BaseException:
            await events.aclose()
            raise
        return OpenedStream(model=model, first=first, rest=events)

    _, opened = await _call_route(route, trace, call)
    return opened


async def with_idle_timeout(events: AsyncIterator[Event], idle: float, trace: Trace) -> AsyncIterator[Event]:
    """Relay events, failing when the provider goes quiet for `idle` seconds or the deadline passes."""
    while True:
        try:
            async with asyncio.timeout(max(min(idle, trace.remaining()), 0.001)):
                event = await anext(events)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ProviderError("The provider stopped sending.", kind=FailureKind.TIMEOUT) from None
        yield event
