"""The request pipeline every transport runs (SPEC invariant 1), read top to bottom in STAGES.

A transport (REST, SSE, WebSocket chat, a background job) resolves the caller at the edge, parses
its wire format into a `Request`, then calls `start` and either `events` (a stream) or `complete`,
or just `embed`, and renders what comes back. It never runs a stage itself.

A stage is one module's `Stage` (apps/core/stage.py): `enter` runs in order before the answer (it
may refuse by raising an ApiError, or answer by setting `request.events`); `relay` wraps the
answer's events on their way out; `leave` runs once the request has ended, whatever its outcome,
in order, and may return work to do after the response (settlement, queued records), which runs
in one task. A new stage is one module and one line in STAGES.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from decimal import Decimal

from apps.audit import stage as audit
from apps.cache import stage as cache
from apps.cache.controls import NONE as NO_CONTROLS
from apps.cache.controls import Controls
from apps.cache.policy import Policy
from apps.cache.store import Entry
from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import ModelInfo
from apps.core.background import spawn
from apps.core.errors import ApiError, UpstreamFailed
from apps.core.outcome import CacheStatus, Outcome
from apps.core.stage import Stage
from apps.guardrails import formats
from apps.guardrails import stage as guardrails
from apps.metering import stage as metering
from apps.metering.holds import Hold
from apps.metering.limits import Decision
from apps.observability import stage as telemetry
from apps.observability import tracing
from apps.providers.errors import FailureKind, ProviderError
from apps.providers.types import (
    ChatRequest,
    Completion,
    Embeddings,
    Event,
    Finish,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    gather,
)  # fmt: skip
from apps.retrieval import stage as retrieval
from apps.tenancy.principal import Principal
from apps.tools import agent

from . import resilience, routing

STAGES: tuple[Stage, ...] = (
    retrieval.stage,  # `pipeline: "rag"`: the vector stores searched, their best chunks fenced into the prompt
    agent.stage,  # `pipeline: "agent"`: model calls (each one through these stages) and tool calls, until an answer
    routing.stage,  # the model, its fallbacks and the prompt's size; refuses what cannot fit (400)
    guardrails.input_stage,  # the input rules: block (400 guardrail_blocked) or redact before anything sees it
    cache.lookup_stage,  # the policy and a fresh entry; on a provider failure, a stale one (STALE)
    metering.stage,  # rate limits, stream caps, the budget hold (429, 402); after: correct, price, settle
    formats.stage,  # an answer owed as JSON is valid, or retried once, or 502 invalid_model_output
    cache.replay_stage,  # a hit answers from its entry; a provider's answer is stored after settlement
    guardrails.output_stage,  # restores redacted values in the answer; after: the output rules
    resilience.stage,  # the provider call: breaker, retries, fallback, deadlines; opens the stream
    audit.stage,  # after: the request's audit entry
    telemetry.stage,  # after: the log line, metrics and the request's root span
)


@dataclass(slots=True)
class StreamFailure:
    """Sent to the client when a stream fails after its first event; the stream then ends."""

    error: ApiError


@dataclass
class Request:
    """One generation request on its way through the pipeline; its fields feed every record of it."""

    principal: Principal
    request_id: str
    endpoint: str
    requested_model: str
    chat: ChatRequest
    stream: bool = False
    kind: str = ModelKind.CHAT
    inputs: list[str] = field(default_factory=list)  # embeddings
    dimensions: int | None = None
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)  # wall clock: the month its hold and record belong to
    route: list[ModelInfo] = field(default_factory=list)
    prompt_tokens: int = 0
    admission: Decision | None = None
    hold: Hold | None = None
    trace: resilience.Trace | None = None
    model: ModelInfo | None = None  # the model that answered
    events: AsyncIterator[Event] | None = None  # the answer, once a stage has it
    embeddings: Embeddings | None = None
    usage: Usage | None = None
    cost_usd: Decimal = Decimal("0")
    ttft_ms: float | None = None
    outcome: Outcome = Outcome.PENDING
    parts: list[str] = field(default_factory=list)  # the answer as it was relayed
    entered: int = 0  # how many stages' `enter` ran (or refused)
    ended: bool = False
    cache_controls: Controls = NO_CONTROLS
    cache_status: CacheStatus = CacheStatus.BYPASS
    cache_policy: Policy | None = None
    cache_key: str | None = None
    cache_entry: Entry | None = None  # a fresh entry to answer from
    stale_entry: Entry | None = None  # an expired one that may stand in for failed providers
    cache_capture: list[Event] | None = None
    semantic_view: tuple[str, str] | None = None
    semantic_vector: tuple[str, object] | None = None
    guardrails: guardrails.Outcomes | None = None
    retrieval: retrieval.Retrieval | None = None  # a rag request's stores, then its citations
    agent: agent.Agent | None = None  # an agent run's tools and limits, then its steps
    leased: bool = False  # a stream lease was taken (a replayed answer takes none)
    settled: asyncio.Task | None = None  # the work after the response (settlement, records), once it ended
    saved_usd: Decimal = Decimal("0")

    @property
    def replayed(self) -> bool:
        """Answered from the cache: no tokens charged, nothing held."""
        return self.cache_status.replayed

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def answer_text(self) -> str:
        return "".join(self.parts)

    @property
    def model_name(self) -> str:
        """The model that answered, else the one asked for (every record names one)."""
        return self.model.name if self.model else self.requested_model[:100]

    @property
    def provider_name(self) -> str:
        return self.model.provider.name if self.model else ""

    @property
    def tokens(self) -> Usage:
        """What was used (nothing, for a request that got no answer)."""
        return self.usage or Usage(0, 0)


NO_STORE = Controls(no_store=True)


def on_behalf(
    principal: Principal, request_id: str, endpoint: str, model: str, chat: ChatRequest, *, suffix: str = "",
    any_model: bool = False, **fields,
) -> Request:  # fmt: skip
    """A request Catalyst makes for a tenant while serving another one (a question's embedding, a
    judge's verdict, a format retry). It runs these same stages, so it is limited, metered to the
    tenant and audited; it is never cached. Its id is the caller's with `:suffix` (the endpoint by
    default). `any_model`: the platform chose the model, so the key's model allow-list does not apply."""
    if any_model:
        principal = dataclasses.replace(principal, allowed_models=())
    return Request(
        principal, f"{request_id[:100]}:{suffix or endpoint}", endpoint, model, chat, cache_controls=NO_STORE, **fields
    )


async def start(request: Request) -> None:
    """Run the stages' `enter` until one answers; on a refusal, end the request and re-raise."""
    try:
        for index, stage in enumerate(STAGES):
            request.entered = index + 1
            if stage.enter is None:
                continue
            try:
                if stage.span:
                    with tracing.stage(stage.name):
                        await stage.enter(request)
                else:
                    await stage.enter(request)
            except ApiError as error:
                if not await _rescued(request, index, error):
                    raise
            if request.events is not None or request.embeddings is not None:
                break
    except ApiError:
        end(request)
        raise
    except asyncio.CancelledError:  # the caller left before an answer
        request.outcome = Outcome.CANCELLED
        end(request)
        raise
    request.ttft_ms = request.latency_ms


async def _rescued(request: Request, failed: int, error: ApiError) -> bool:
    """Whether a stage before the one that refused answered instead (it set the events)."""
    for stage in reversed(STAGES[:failed]):
        if stage.rescue is not None and await stage.rescue(request, error):
            return True
    return False


async def events(request: Request) -> AsyncIterator[Event | StreamFailure]:
    """The answer's events through every stage's `relay`; a provider failure after the first event
    becomes a StreamFailure and ends the stream. The request ends with its last event."""
    upstream = request.events
    relayed: AsyncIterator[Event] = upstream
    for stage in STAGES:
        if stage.relay is not None:
            relayed = stage.relay(request, relayed)
    finished = False
    try:
        async for event in relayed:
            if isinstance(event, TextDelta):
                request.parts.append(event.text)
            elif isinstance(event, ToolCallDelta):
                request.parts.append((event.name or "") + event.arguments)
            elif isinstance(event, Usage):
                request.usage = event
            elif isinstance(event, Finish):
                finished = True
            yield event
        if not finished:
            raise ProviderError("The provider ended the stream before finishing.", kind=FailureKind.DROPPED)
        request.outcome = Outcome.OK
    except ProviderError as error:
        request.outcome = Outcome.FAILED_MIDSTREAM
        yield StreamFailure(UpstreamFailed(f"The stream broke off: {error.message}"))
    except ApiError as error:  # a relay refused the rest of the answer (an output guardrail): it set the outcome
        if request.outcome == Outcome.PENDING:
            request.outcome = Outcome.FAILED_MIDSTREAM
        yield StreamFailure(error)
    except (asyncio.CancelledError, GeneratorExit):
        request.outcome = Outcome.CANCELLED
        raise
    finally:
        try:
            await upstream.aclose()
        finally:  # even if a second cancel interrupts the close, the request ends
            end(request)


async def abandon(request: Request) -> None:
    """A streamed answer whose events were never read (the client left between the headers and
    the first event): the upstream is closed and the request ends as cancelled, as `events`
    would have ended it."""
    if request.ended:
        return
    request.outcome = Outcome.CANCELLED
    try:
        await request.events.aclose()
    finally:
        end(request)


async def complete(request: Request) -> Completion:
    """The whole answer at once (a non-streamed request), through the same relays."""
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    logprobs: dict[str, list] = {}
    finish = "stop"
    async with contextlib.aclosing(events(request)) as relayed:
        async for event in relayed:
            if isinstance(event, TextDelta):
                text.append(event.text)
                for kind, entries in (event.logprobs or {}).items():
                    logprobs.setdefault(kind, []).extend(entries or [])
            elif isinstance(event, ToolCallDelta):
                gather(calls, event)
            elif isinstance(event, Finish):
                finish = event.reason
            elif isinstance(event, StreamFailure):
                raise event.error
    tool_calls = [ToolCall(*call) for _, call in sorted(calls.items())]
    answer = "".join(text) if text or not tool_calls else None
    return Completion(answer, tool_calls, finish, request.usage, logprobs or None)


async def embed(request: Request) -> Embeddings:
    await start(request)
    request.usage = Usage(request.embeddings.input_tokens, 0)
    request.outcome = Outcome.OK
    end(request)
    return request.embeddings


def end(request: Request) -> None:
    """Run the `leave` of every stage the request reached, once, in order; what they hand back
    runs after the response, in one task, so its Redis commands leave in one write."""
    if request.ended:
        return
    request.ended = True
    after = []
    with tracing.stage("settle"):
        for index, stage in enumerate(STAGES):
            if stage.leave is not None and (index < request.entered or stage.enter is None):
                work = stage.leave(request)
                if work is not None:
                    after.append(work)
    if after:
        request.settled = spawn(_after_response(after), what="settlement")


async def _after_response(work: list[Awaitable[None]]) -> None:
    results = await asyncio.gather(*work, return_exceptions=True)
    failures = [result for result in results if isinstance(result, Exception)]
    if failures:
        raise ExceptionGroup("settlement failed", failures)
