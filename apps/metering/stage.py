"""Metering as a pipeline stage. Before the answer: every rate-limit bucket of the tenant and the
key or user pays (or 429 says when to retry), a stream takes a lease, and the budget holds the
prompt and the output cap it can pay for (or 402). After: the answer is priced (provider-reported
usage, or counted for a cut stream), the buckets are corrected, the lease freed, the hold settled
and the usage record stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from decimal import Decimal
from typing import Protocol

from django.conf import settings

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import ModelInfo
from apps.core.error_codes import ErrorCode
from apps.core.errors import BudgetExhausted, RateLimited
from apps.core.outcome import Outcome
from apps.core.stage import Stage
from apps.providers.types import ChatRequest, Usage
from apps.tenancy.principal import Principal

from . import holds, ledger, limits, recorder, tokens


class Metered(Protocol):
    principal: Principal
    request_id: str
    endpoint: str
    requested_model: str
    kind: str
    stream: bool
    chat: ChatRequest
    route: list[ModelInfo]
    prompt_tokens: int
    started_at: float
    latency_ms: float
    ttft_ms: float | None
    admission: limits.Decision | None
    hold: holds.Hold | None
    model: ModelInfo | None
    usage: Usage | None
    answer_text: str
    cost_usd: Decimal
    outcome: Outcome
    model_name: str
    provider_name: str
    tokens: Usage
    cache_status: str
    replayed: bool  # answered from the cache: request limits apply, tokens and budget do not
    leased: bool
    saved_usd: Decimal


def budget_caps(principal: Principal) -> ledger.Caps:
    quota = principal.limits
    usd = Decimal(quota.monthly_budget_usd) if quota.monthly_budget_usd is not None else None
    return ledger.Caps(usd=usd, tokens=quota.monthly_tokens)


async def admit(request: Metered) -> None:
    principal = request.principal
    if principal.limits is None:
        return
    if request.replayed:  # a cache hit: it counts as a request, charges no tokens and holds nothing
        token_cost, request.leased = 0, False
    else:
        token_cost, request.leased = request.prompt_tokens + _expected_output(request), request.stream
    decision = await limits.admit(
        principal, token_cost=token_cost, request_id=request.request_id, stream=request.leased
    )
    if not decision.allowed:
        streams = decision.denied == "concurrent streams"
        request.outcome = Outcome.TOO_MANY_STREAMS if streams else Outcome.RATE_LIMITED
        message = f"Rate limit reached ({decision.denied}); retry after {decision.headers()['Retry-After']} s."
        code = ErrorCode.TOO_MANY_STREAMS if streams else ErrorCode.RATE_LIMITED
        raise RateLimited(message, code=code, headers=decision.headers())
    request.admission = decision
    caps = budget_caps(principal)
    if not caps.limited or request.replayed:
        return
    ask = _ask(request)
    request.hold = await holds.reserve(tenant_id=principal.tenant_id, ask=ask, caps=caps, now=request.started_at)
    if request.hold is None:
        request.outcome = Outcome.BUDGET_EXHAUSTED
        raise BudgetExhausted("The monthly budget is exhausted; raise it in the admin or wait for the next month.")
    if request.kind == ModelKind.CHAT:  # the cap the hold paid for is the one sent upstream
        request.chat.max_tokens = request.hold.output_tokens


def _expected_output(request: Metered) -> int:
    """What the tokens-per-minute buckets are charged for the answer before it exists."""
    if request.kind == ModelKind.EMBEDDING:
        return 0
    return request.chat.max_tokens or min(request.route[0].max_output_tokens, settings.LIMITS_EXPECTED_OUTPUT_TOKENS)


def _ask(request: Metered) -> holds.Ask:
    """Hold the prompt and the output cap at the route's highest prices, so a fallback to a
    pricier model is covered too. The cap is the request's max_tokens, else the largest the
    route's models write; the budget may lower it, but not below LIMITS_MIN_OUTPUT_TOKENS."""
    route = request.route
    if request.kind == ModelKind.EMBEDDING:
        desired = minimum = 0
    else:
        desired = request.chat.max_tokens or max(model.max_output_tokens for model in route)
        minimum = min(desired, settings.LIMITS_MIN_OUTPUT_TOKENS)
    return holds.Ask(
        request_id=request.request_id,
        prompt_tokens=request.prompt_tokens,
        prompt_usd=max(_prompt_usd(model, request.prompt_tokens) for model in route),
        usd_per_output_token=max(model.price_output for model in route) / Decimal(1_000_000),
        desired_output=desired,
        min_output=minimum,
    )


def _prompt_usd(model, prompt_tokens: int) -> Decimal:
    """The most the prompt can cost: every token written to the provider's cache, where a write
    costs more than plain input (Anthropic's 1.25 times)."""
    return max(model.cost_usd(prompt_tokens, 0), model.cost_usd(prompt_tokens, 0, 0, prompt_tokens))


def settle(request: Metered) -> Awaitable[None] | None:
    """Price what was used now (the answer's last chunk carries the cost); settle after the response."""
    if request.outcome == Outcome.INVALID or request.principal.limits is None:
        return None
    model = request.model
    if request.usage is None and model is not None:
        request.usage = Usage(request.prompt_tokens, tokens.count_text(model, request.answer_text))
    usage = request.usage
    if model is not None and usage is not None:
        request.cost_usd = model.cost_usd(
            usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.cache_write_tokens
        )
    if request.replayed:  # what the answer would have cost; nothing is charged
        request.saved_usd, request.cost_usd = request.cost_usd, Decimal(0)
    return _settle_after_response(request)


async def _settle_after_response(request: Metered) -> None:
    used = 0 if request.replayed else request.tokens.input_tokens + request.tokens.output_tokens
    started = dt.datetime.fromtimestamp(request.started_at, dt.UTC)
    steps = [recorder.record(_usage_record(request), request.hold, budget_caps(request.principal), now=started)]
    if request.admission is not None:
        steps.append(
            limits.settle(
                request.principal,
                request.admission,
                actual_tokens=used,
                request_id=request.request_id,
                stream=request.leased,
            )
        )
    # Together, so their Redis commands leave in one write; one failing does not stop the other.
    results = await asyncio.gather(*steps, return_exceptions=True)
    failures = [result for result in results if isinstance(result, Exception)]
    if failures:
        raise ExceptionGroup("metering settlement failed", failures)


def _usage_record(request: Metered) -> dict:
    principal, model, used = request.principal, request.model, request.tokens
    replayed = used.input_tokens + used.output_tokens if request.replayed else 0
    if request.replayed:
        used = Usage(0, 0)
    return {
        "request_id": request.request_id,
        "tenant_id": principal.tenant_id,
        "team_id": principal.team_id,
        "key_id": principal.key_id,
        "user_id": principal.user_id,
        "endpoint": request.endpoint,
        "model": request.model_name,
        "provider": request.provider_name,
        "tokens_in": used.input_tokens,
        "tokens_out": used.output_tokens,
        "tokens_cached": used.cached_tokens,
        "tokens_cache_written": used.cache_write_tokens,
        "price_input": model.price_input if model else Decimal(0),
        "price_output": model.price_output if model else Decimal(0),
        "price_cached_input": model.price_cached_input if model else Decimal(0),
        "price_cache_write": model.cache_write_price if model else Decimal(0),
        "cost_usd": request.cost_usd,
        "latency_ms": round(request.latency_ms, 3),
        "ttft_ms": round(request.ttft_ms, 3) if request.ttft_ms is not None else None,
        "outcome": str(request.outcome),
        "stream": request.stream,
        "cache_status": str(request.cache_status),
        "tokens_replayed": replayed,
        "saved_usd": request.saved_usd,
    }


stage = Stage("limits", enter=admit, leave=settle)
