"""Calls that make no model call of their own (guardrail checks, files, vector stores, tool calls)
still count as requests: admitted against the caller's request limits first, and leaving a usage
record (no tokens; a tool's price, if it has one) after."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import RateLimited
from apps.metering import holds, limits, recorder
from apps.metering.stage import budget_caps
from apps.tenancy.principal import Principal


@dataclass
class Call:
    principal: Principal
    request_id: str
    endpoint: str
    started: float = field(default_factory=time.perf_counter)
    started_at: object = field(default_factory=timezone.now)
    hold: holds.Hold | None = None  # a priced call's price, held against the budget before it runs


async def hold(call: Call, cost_usd: Decimal) -> bool:
    """Hold `cost_usd` against the caller's budget before a priced call runs, as a model call's
    answer is held; False when the budget cannot pay for it (nothing is held then)."""
    if call.principal.limits is None:
        return True
    caps = budget_caps(call.principal)
    if not caps.limited:
        return True
    ask = holds.Ask(request_id=call.request_id, prompt_tokens=0, prompt_usd=cost_usd,
                    usd_per_output_token=Decimal(0), desired_output=0, min_output=0)  # fmt: skip
    call.hold = await holds.reserve(tenant_id=call.principal.tenant_id, ask=ask, caps=caps,
                                    now=call.started_at.timestamp())  # fmt: skip
    return call.hold is not None


async def admit(principal: Principal, request_id: str, endpoint: str) -> Call:
    if principal.limits is not None:
        decision = await limits.admit(principal, token_cost=0, request_id=request_id, stream=False)
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit reached ({decision.denied}); retry after {decision.headers()['Retry-After']} s.",
                code=ErrorCode.RATE_LIMITED, headers=decision.headers(),
            )  # fmt: skip
    return Call(principal, request_id, endpoint)


async def record(call: Call, *, model: str = "", cost_usd: Decimal = Decimal(0), outcome: str = "ok") -> None:
    """`model`: what was used (a tool's name); `cost_usd` is charged against the budget."""
    if call.principal.limits is None:
        return
    zero, principal = Decimal(0), call.principal
    usage = {
        "request_id": call.request_id, "tenant_id": principal.tenant_id, "team_id": principal.team_id,
        "key_id": principal.key_id, "user_id": principal.user_id, "endpoint": call.endpoint, "model": model[:100],
        "provider": "", "tokens_in": 0, "tokens_out": 0, "tokens_cached": 0, "price_input": zero,
        "price_output": zero, "price_cached_input": zero, "cost_usd": cost_usd,
        "latency_ms": round((time.perf_counter() - call.started) * 1000, 3), "ttft_ms": None, "outcome": outcome,
        "stream": False, "cache_status": "BYPASS", "tokens_replayed": 0, "saved_usd": zero,
    }  # fmt: skip
    await recorder.record(usage, call.hold, budget_caps(principal), now=call.started_at)
