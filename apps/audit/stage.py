"""The audit trail as a pipeline stage: once a request has ended, its entry (who, what, which model
and attempts, tokens, cost; the prompt and answer only when the tenant keeps prompts) is queued."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any, Protocol

from apps.core.outcome import Outcome
from apps.core.stage import Stage

from . import trail


class Audited(Protocol):
    principal: Any  # apps.tenancy.principal.Principal
    request_id: str
    endpoint: str
    requested_model: str
    stream: bool
    chat: Any  # apps.providers.types.ChatRequest
    trace: Any  # apps.gateway.resilience.Trace, or None
    cost_usd: Decimal
    latency_ms: float
    answer_text: str
    outcome: Outcome
    model_name: str
    provider_name: str
    tokens: Any  # apps.providers.types.Usage: what was used, zeros without an answer


GUARDRAILS_WAIT_SECONDS = 30.0


def record(request: Audited) -> Awaitable[None] | None:
    if request.outcome == Outcome.INVALID:  # answered, not recorded (see apps/core/outcome.py)
        return None
    return _record_after_response(request)


async def _record_after_response(request: Audited) -> None:
    """The entry is built here, after the response, not on its path: it digests the payload. It
    waits for the guardrails' checks that run after the response, so it names their outcomes."""
    guardrails = getattr(request, "guardrails", None)
    if guardrails is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(guardrails.settled.wait(), GUARDRAILS_WAIT_SECONDS)
    await trail.record(entry(request))


def entry(request: Audited) -> dict:
    principal, used = request.principal, request.tokens
    by_key = principal.method == "api_key"
    payload = {
        "endpoint": request.endpoint,
        "model": request.model_name,
        "provider": request.provider_name,
        "tokens_in": used.input_tokens,
        "tokens_out": used.output_tokens,
        "tokens_cached": used.cached_tokens,
        "cost_usd": request.cost_usd,
        "latency_ms": round(request.latency_ms, 3),
        "requested_model": request.requested_model,
        "outcome": str(request.outcome),
        "stream": request.stream,
        "attempts": [attempt.short() for attempt in request.trace.attempts] if request.trace else [],
        "user_id": principal.user_id,
    }
    guardrails = getattr(request, "guardrails", None)
    if guardrails is not None and guardrails.results:  # checks, actions, entity types and counts: no text
        payload["guardrails"] = guardrails.summary()
    agent = getattr(request, "agent", None)
    if agent is not None and agent.used_tools:  # each call: tool, outcome, time, the arguments' digest (no values)
        payload["steps"] = agent.steps
        payload["finish_reason"] = agent.finish_reason
        if agent.limit:
            payload["limit"] = agent.limit  # steps, tool_calls, time or budget
    if principal.keep_prompts:  # the tenant's policy; purged after its retention period
        payload |= {"prompt": request.chat.messages, "answer": request.answer_text}
    return trail.event(
        f"generation.{request.endpoint}", actor_type="api_key" if by_key else "user",
        actor=principal.key_prefix if by_key else f"user:{principal.user_id}", tenant_id=principal.tenant_id,
        tenant_slug=principal.tenant_slug, request_id=request.request_id, payload=payload,
    )  # fmt: skip


stage = Stage("audit", leave=record)
