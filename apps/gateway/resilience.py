"""Calling a route of models: breaker, retries with backoff that honour Retry-After, deadlines,
and fallback to the next model; the pipeline's provider stage. A failure before the first event
is invisible to the client; after it, the stream reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import ModelInfo
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, InvalidRequest, UpstreamFailed, UpstreamTimeout, UpstreamUnavailable
from apps.core.outcome import Outcome
from apps.core.stage import Stage
from apps.observability import tracing
from apps.providers.errors import FailureKind, ProviderError
from apps.providers.registry import adapter_for
from apps.providers.types import ChatRequest, Completion, Embeddings, Event, Finish, TextDelta, ToolCallDelta

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


class Called(Protocol):
    kind: str
    stream: bool
    chat: ChatRequest
    inputs: list[str]
    dimensions: int | None
    route: list[ModelInfo]
    trace: Trace | None
    model: ModelInfo | None
    events: AsyncIterator[Event] | None
    embeddings: Embeddings | None
    outcome: Outcome


async def call(request: Called) -> None:
    """Get the answer from the first model of the route that gives one: a stream, a completion
    (as events, so that later stages relay one shape) or embeddings."""
    request.trace = Trace(deadline=time.monotonic() + settings.GATEWAY_TOTAL_TIMEOUT_SECONDS)
    try:
        if request.kind == ModelKind.EMBEDDING:
            request.model, request.embeddings = await embed(
                request.route, request.inputs, request.dimensions, request.trace
            )
        elif request.stream:
            opened = await open_stream(request.route, request.chat, request.trace)
            request.model, request.events = opened.model, _streamed(opened, request.trace)
        else:
            request.model, completion = await complete(request.route, request.chat, request.trace)
            request.events = events_of(completion)
    except (AllProvidersFailed, ProviderError) as error:
        request.outcome = Outcome.FAILED
        raise api_error(error) from None


async def _streamed(opened: OpenedStream, trace: Trace) -> AsyncIterator[Event]:
    """The opened stream from its first event; the provider may go quiet for its timeout at most."""
    try:
        yield opened.first
        quiet_for = opened.model.provider.timeout_seconds
        async with contextlib.aclosing(with_idle_timeout(opened.rest, quiet_for, trace)) as rest:
            async for event in rest:
                yield event
    finally:
        await opened.rest.aclose()


async def events_of(completion: Completion) -> AsyncIterator[Event]:
    if completion.text or completion.logprobs:
        yield TextDelta(completion.text or "", completion.logprobs)
    for index, tool in enumerate(completion.tool_calls):
        yield ToolCallDelta(index, tool.id, tool.name, tool.arguments)
    if completion.usage is not None:
        yield completion.usage
    yield Finish(completion.finish_reason)


def api_error(error: Exception) -> ApiError:
    """What the client is told when no model answered."""
    if isinstance(error, AllProvidersFailed):
        last = error.last
        if error.timed_out:
            return UpstreamTimeout("The model provider did not answer in time.")
        if error.all_breakers_open:
            return UpstreamUnavailable("Every provider for this model is failing; try again shortly.")
        if last is not None and last.kind == FailureKind.RATE_LIMITED:
            retry = f"{max(int(last.retry_after or 1), 1)}"
            return UpstreamUnavailable("The model providers are rate limiting.", headers={"Retry-After": retry})
        return UpstreamFailed("Every provider in the model's fallback chain failed.")
    assert isinstance(error, ProviderError)
    if error.kind == FailureKind.UNSENDABLE:
        return InvalidRequest(error.message)
    return InvalidRequest(error.message, code=ErrorCode.UPSTREAM_REJECTED)


stage = Stage("provider", enter=call, span=False)  # each attempt is a span of its own
