"""The request pipeline every transport runs (SPEC invariant 1), top to bottom:

    authenticate → tenant context → validate → route → provider call (with resilience) → settle → log

Transports authenticate with `authenticate_credential`, parse their own wire format into a
`ChatRequest`, then call `prepare` and either `complete` or `stream`. Later capabilities (input
guardrails, limits and budget reservation, cache) slot in as stages of `prepare`; settlement
and output guardrails as stages of `_settle` and the relay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from apps.audit import trail
from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import ModelInfo, current_catalogue
from apps.core.background import spawn
from apps.core.error_codes import ErrorCode
from apps.core.errors import (
    ApiError,
    BudgetExhausted,
    InvalidRequest,
    RateLimited,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from apps.metering import holds, ledger, limits, recorder, tokens
from apps.observability import metrics, tracing
from apps.providers.errors import FailureKind, ProviderError
from apps.providers.types import ChatRequest, Completion, Embeddings, Event, Finish, TextDelta, ToolCallDelta, Usage
from apps.tenancy.authentication import authenticate, authorize
from apps.tenancy.principal import Principal

from . import resilience, routing

logger = logging.getLogger("catalyst.request")


@dataclass(slots=True)
class StreamFailure:
    """Sent to the client when a stream fails after its first token; the stream then ends."""

    code: str
    message: str


@dataclass
class Generation:
    """One generation request on its way through the pipeline; its fields feed the log line."""

    principal: Principal
    request_id: str
    endpoint: str
    requested_model: str
    chat: ChatRequest
    stream: bool
    route: list[ModelInfo] = field(default_factory=list)
    trace: resilience.Trace | None = None
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)  # wall clock: the month its hold and record belong to
    model: ModelInfo | None = None
    usage: Usage | None = None
    cost_usd: Decimal = Decimal("0")
    ttft_ms: float | None = None
    outcome: str = "pending"
    streamed: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    admission: limits.Decision | None = None
    hold: holds.Hold | None = None
    answer_text: str = ""

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


async def authenticate_credential(credential: str, endpoint: str, client: str | None = None) -> Principal:
    principal = await authenticate(credential, client)
    authorize(principal, endpoint=endpoint)
    return principal


async def prepare(
    principal: Principal, *, request_id: str, endpoint: str, model: str, chat: ChatRequest, stream: bool
) -> Generation:
    """Validate against the catalogue and build the route; nothing is sent upstream yet."""
    generation = Generation(principal, request_id, endpoint, model, chat, stream)
    with tracing.stage("route", **{"catalyst.requested_model": model}):
        catalogue = await current_catalogue()
        if model == routing.AUTO:
            generation.route = routing.choose_auto(catalogue, principal, chat)
        else:
            generation.route = routing.resolve_route(catalogue, principal, model, kind=ModelKind.CHAT)
        first = generation.route[0]
        generation.prompt_tokens = tokens.prompt_tokens(first, chat.messages, chat.tools)
        _validate_against(first, chat, generation.prompt_tokens)
    expected_output = chat.max_tokens or min(first.max_output_tokens, settings.LIMITS_EXPECTED_OUTPUT_TOKENS)
    await _admit(generation, generation.prompt_tokens, expected_output)
    generation.trace = resilience.Trace(deadline=time.monotonic() + settings.GATEWAY_TOTAL_TIMEOUT_SECONDS)
    return generation


def budget_caps(principal: Principal) -> ledger.Caps:
    quota = principal.limits
    usd = Decimal(quota.monthly_budget_usd) if quota.monthly_budget_usd is not None else None
    return ledger.Caps(usd=usd, tokens=quota.monthly_tokens)


async def _admit(generation: Generation, prompt_tokens: int, expected_output: int) -> None:
    """Rate limits (every bucket of the tenant and the key or user pays, or 429 says when to retry),
    then the budget reservation (the estimate is held in the ledger, or 402)."""
    principal = generation.principal
    if principal.limits is None:
        return
    with tracing.stage("limits"):
        await _admit_within_limits(generation, prompt_tokens, expected_output)


async def _admit_within_limits(generation: Generation, prompt_tokens: int, expected_output: int) -> None:
    principal = generation.principal
    decision = await limits.admit(
        principal, token_cost=prompt_tokens + expected_output, request_id=generation.request_id,
        stream=generation.stream,
    )  # fmt: skip
    if not decision.allowed:
        generation.outcome = "rate_limited"
        _refuse(generation)
        code = ErrorCode.TOO_MANY_STREAMS if decision.denied == "concurrent streams" else ErrorCode.RATE_LIMITED
        message = f"Rate limit reached ({decision.denied}); retry after {decision.headers()['Retry-After']} s."
        raise RateLimited(message, code=code, headers=decision.headers())
    generation.admission = decision
    caps = budget_caps(principal)
    if not caps.limited:
        return
    try:
        generation.hold = await holds.reserve(
            tenant_id=principal.tenant_id, ask=_ask(generation, prompt_tokens), caps=caps, now=generation.started_at
        )
    except asyncio.CancelledError:  # the caller left while the hold was being taken: free the lease
        _cancelled(generation)
        raise
    if generation.hold is None:
        generation.outcome = "budget_exhausted"
        _refuse(generation)
        raise BudgetExhausted("The monthly budget is exhausted; raise it in the admin or wait for the next month.")
    if generation.endpoint != "embeddings":  # the cap the hold paid for is the one sent upstream
        generation.chat.max_tokens = generation.hold.output_tokens


def _ask(generation: Generation, prompt_tokens: int) -> holds.Ask:
    """Hold the prompt and the output cap at the route's highest prices, so a fallback to a
    pricier model is covered too. The cap is the request's max_tokens, else the largest the
    route's models write; the budget may lower it, but not below LIMITS_MIN_OUTPUT_TOKENS."""
    route, requested = generation.route, generation.chat.max_tokens
    if generation.endpoint == "embeddings":
        desired = minimum = 0
    else:
        desired = requested or max(model.max_output_tokens for model in route)
        minimum = min(desired, settings.LIMITS_MIN_OUTPUT_TOKENS)
    return holds.Ask(
        request_id=generation.request_id,
        prompt_tokens=prompt_tokens,
        prompt_usd=max(model.cost_usd(prompt_tokens, 0) for model in route),
        usd_per_output_token=max(model.price_output for model in route) / Decimal(1_000_000),
        desired_output=desired,
        min_output=minimum,
    )


def _refuse(generation: Generation) -> None:
    """A refused request is recorded too (no tokens, no cost), so reports show what was turned away."""
    _after_response(generation, actual_tokens=0)
    _log(generation)


def _after_response(generation: Generation, actual_tokens: int) -> None:
    """Off the response's path, in one task: correct the token buckets by what was used and free the
    stream lease; settle the budget hold, queue the usage record and the audit entry."""
    if generation.principal.limits is not None:
        spawn(_settle_and_record(generation, actual_tokens), what="settlement")


async def _settle_and_record(generation: Generation, actual_tokens: int) -> None:
    steps = [_record(generation)]
    if generation.admission is not None:
        steps.append(
            limits.settle(
                generation.principal, generation.admission, actual_tokens=actual_tokens,
                request_id=generation.request_id, stream=generation.stream,
            )
        )  # fmt: skip
    # Concurrently, so their Redis commands leave in one write; one failing does not stop the others.
    _raise_failures(await asyncio.gather(*steps, return_exceptions=True))


def _raise_failures(results: list) -> None:
    failures = [result for result in results if isinstance(result, Exception)]
    if failures:
        raise ExceptionGroup("settlement failed", failures)


async def embed(
    principal: Principal, *, request_id: str, model: str, inputs: list[str], dimensions: int | None
) -> tuple[Generation, Embeddings]:
    generation = Generation(principal, request_id, "embeddings", model, ChatRequest(messages=[]), stream=False)
    catalogue = await current_catalogue()
    generation.route = routing.resolve_route(catalogue, principal, model, kind=ModelKind.EMBEDDING)
    await _admit(generation, sum(tokens.count_text(generation.route[0], text) for text in inputs), 0)
    generation.trace = resilience.Trace(deadline=time.monotonic() + settings.GATEWAY_TOTAL_TIMEOUT_SECONDS)
    try:
        generation.model, result = await resilience.embed(generation.route, inputs, dimensions, generation.trace)
    except (resilience.AllProvidersFailed, ProviderError) as error:
        raise _failed(generation, error) from None
    generation.usage = Usage(result.input_tokens, 0)
    generation.outcome = "ok"
    _settle(generation)
    return generation, result


def _validate_against(model: ModelInfo, chat: ChatRequest, prompt_tokens: int) -> None:
    if chat.tools and not model.supports_tools:
        raise InvalidRequest(f"The model '{model.name}' does not support tools.", param="tools")
    if chat.max_tokens is not None and chat.max_tokens > model.max_output_tokens:
        raise InvalidRequest(
            f"max_tokens is {chat.max_tokens}; '{model.name}' writes at most {model.max_output_tokens}.",
            param="max_tokens",
        )
    if prompt_tokens + (chat.max_tokens or 0) > model.context_window:
        raise InvalidRequest(
            f"{prompt_tokens} prompt tokens do not fit the {model.context_window}-token context of {model.name}.",
            code=ErrorCode.CONTEXT_LENGTH_EXCEEDED,
            param="messages",
        )


def _failed(generation: Generation, error: Exception) -> ApiError:
    """Settle a request that got no answer, and say what to tell the client."""
    generation.outcome = "failed"
    _settle(generation)
    return _api_error(error)


def _cancelled(generation: Generation) -> None:
    """The caller went away (or cancelled) before an answer: release the hold and the lease."""
    generation.outcome = "cancelled"
    _settle(generation)


def _api_error(error: Exception) -> ApiError:
    if isinstance(error, resilience.AllProvidersFailed):
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


async def complete(generation: Generation) -> Completion:
    try:
        generation.model, completion = await resilience.complete(generation.route, generation.chat, generation.trace)
    except (resilience.AllProvidersFailed, ProviderError) as error:
        raise _failed(generation, error) from None
    except asyncio.CancelledError:
        _cancelled(generation)
        raise
    generation.ttft_ms = generation.latency_ms
    generation.usage = completion.usage
    generation.outcome = "ok"
    _settle(generation, completion_text=completion.text or "")
    return completion


async def stream(generation: Generation) -> AsyncIterator[Event | StreamFailure]:
    """Open the stream (falling back silently until the first event), then relay it.

    Raises ApiError before the first event; after it, failures become a StreamFailure event.
    """
    try:
        opened = await resilience.open_stream(generation.route, generation.chat, generation.trace)
    except (resilience.AllProvidersFailed, ProviderError) as error:
        raise _failed(generation, error) from None
    except asyncio.CancelledError:
        _cancelled(generation)
        raise
    generation.model = opened.model
    generation.ttft_ms = generation.latency_ms
    return _relay(generation, opened)


async def _relay(generation: Generation, opened: resilience.OpenedStream) -> AsyncIterator[Event | StreamFailure]:
    finished = False
    idle = opened.model.provider.timeout_seconds
    try:
        events = resilience.with_idle_timeout(opened.rest, idle, generation.trace)
        event: Event | None = opened.first
        while event is not None:
            if isinstance(event, TextDelta):
                generation.streamed.append(event.text)
            elif isinstance(event, ToolCallDelta):
                generation.streamed.append((event.name or "") + event.arguments)
            elif isinstance(event, Usage):
                generation.usage = event
            elif isinstance(event, Finish):
                finished = True
            yield event
            event = await anext(events, None)
        if not finished:
            raise ProviderError("The provider ended the stream before finishing.", kind=FailureKind.DROPPED)
        generation.outcome = "ok"
    except ProviderError as error:
        generation.outcome = "failed_midstream"
        yield StreamFailure(code=ErrorCode.UPSTREAM_FAILED, message=f"The stream broke off: {error.message}")
    except (asyncio.CancelledError, GeneratorExit):
        generation.outcome = "cancelled"
        raise
    finally:
        try:
            await opened.rest.aclose()
        finally:  # even if a second cancel interrupts the close, the request is settled
            _settle(generation)


def _settle(generation: Generation, completion_text: str = "") -> None:
    """Price what was used (provider-reported, or estimated for a cut stream) and log the request."""
    with tracing.stage("settle"):
        model = generation.model
        generation.answer_text = "".join(generation.streamed) + completion_text
        if generation.usage is None and model is not None:
            output = tokens.count_text(model, generation.answer_text)
            generation.usage = Usage(generation.prompt_tokens, output)
        if model is not None and generation.usage is not None:
            usage = generation.usage
            generation.cost_usd = model.cost_usd(usage.input_tokens, usage.output_tokens, usage.cached_tokens)
        _after_response(
            generation, generation.usage.input_tokens + generation.usage.output_tokens if generation.usage else 0
        )
    _log(generation)


async def _record(generation: Generation) -> None:
    """Settle the hold and record the usage, after the response: never on its path."""
    principal, model, usage = generation.principal, generation.model, generation.usage
    record = {
        "request_id": generation.request_id,
        "tenant_id": principal.tenant_id,
        "team_id": principal.team_id,
        "key_id": principal.key_id,
        "user_id": principal.user_id,
        "endpoint": generation.endpoint,
        "model": model.name if model else generation.requested_model[:100],
        "provider": model.provider.name if model else "",
        "tokens_in": usage.input_tokens if usage else 0,
        "tokens_out": usage.output_tokens if usage else 0,
        "tokens_cached": usage.cached_tokens if usage else 0,
        "price_input": model.price_input if model else Decimal(0),
        "price_output": model.price_output if model else Decimal(0),
        "price_cached_input": model.price_cached_input if model else Decimal(0),
        "cost_usd": generation.cost_usd,
        "latency_ms": round(generation.latency_ms, 3),
        "ttft_ms": round(generation.ttft_ms, 3) if generation.ttft_ms is not None else None,
        "outcome": generation.outcome,
        "stream": generation.stream,
    }
    results = await asyncio.gather(
        recorder.record(record, generation.hold, budget_caps(principal), now=_utc(generation.started_at)),
        trail.record(_audit_event(generation, record)),  # written even if settlement fails
        return_exceptions=True,
    )
    _raise_failures(results)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def _audit_event(generation: Generation, record: dict) -> dict:
    """The request's audit entry: who, what, which model and attempts, tokens, cost; the prompt and
    answer only when the tenant's policy keeps them."""
    principal = generation.principal
    by_key = principal.method == "api_key"
    facts = ("endpoint", "model", "provider", "tokens_in", "tokens_out", "tokens_cached", "cost_usd", "latency_ms")
    payload = {name: record[name] for name in facts} | {
        "requested_model": generation.requested_model, "outcome": generation.outcome, "stream": generation.stream,
        "attempts": [a.short() for a in generation.trace.attempts] if generation.trace else [],
        "user_id": principal.user_id,
    }  # fmt: skip
    if principal.keep_prompts:  # the tenant's policy; purged after its retention period
        payload |= {"prompt": generation.chat.messages, "answer": generation.answer_text}
    return trail.event(
        f"generation.{generation.endpoint}", actor_type="api_key" if by_key else "user",
        actor=principal.key_prefix if by_key else f"user:{principal.user_id}", tenant_id=principal.tenant_id,
        tenant_slug=principal.tenant_slug, request_id=generation.request_id, payload=payload,
    )  # fmt: skip


def _log(generation: Generation) -> None:
    principal, usage, trace = generation.principal, generation.usage, generation.trace
    fields = {
        "request_id": generation.request_id,
        "tenant": principal.tenant_slug,
        "key_prefix": principal.key_prefix,
        "user_id": principal.user_id,
        "endpoint": generation.endpoint,
        "model": generation.requested_model,
        "model_used": generation.model.name if generation.model else None,
        "provider": generation.model.provider.name if generation.model else None,
        "attempts": [a.short() for a in trace.attempts] if trace else [],
        "tokens_in": usage.input_tokens if usage else 0,
        "tokens_out": usage.output_tokens if usage else 0,
        "cost_usd": str(generation.cost_usd),
        "latency_ms": round(generation.latency_ms, 2),
        "ttft_ms": round(generation.ttft_ms, 2) if generation.ttft_ms is not None else None,
        "stream": generation.stream,
        "outcome": generation.outcome,
    }
    fields["trace_id"] = tracing.trace_id()
    if settings.LOG_PROMPTS:
        fields["prompt"] = generation.chat.messages
    logger.info("generation", extra=fields)
    metrics.observe(generation)
    tracing.finish(
        **{
            "catalyst.tenant": principal.tenant_slug, "catalyst.tier": principal.tier,
            "catalyst.model": fields["model_used"] or generation.requested_model, "catalyst.cache": "MISS",
            "catalyst.tokens_in": fields["tokens_in"], "catalyst.tokens_out": fields["tokens_out"],
            "catalyst.cost_usd": float(generation.cost_usd), "catalyst.outcome": generation.outcome,
        }
    )  # fmt: skip
