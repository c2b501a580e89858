"""Telemetry as a pipeline stage: once a request has ended, its JSON log line, its metrics and the
end of its root span, all carrying the tenant, never a key, token or prompt (unless LOG_PROMPTS)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

from apps.core import money
from apps.core.outcome import Outcome
from apps.core.stage import Stage

from . import metrics, tracing

logger = logging.getLogger("catalyst.request")


class Observed(Protocol):
    principal: Any  # apps.tenancy.principal.Principal
    cache_status: str
    request_id: str
    endpoint: str
    requested_model: str
    stream: bool
    chat: Any
    model: Any
    tokens: Any  # apps.providers.types.Usage
    trace: Any
    cost_usd: Decimal
    latency_ms: float
    ttft_ms: float | None
    outcome: Outcome


def report(request: Observed) -> None:
    if request.outcome == Outcome.INVALID:  # answered, not recorded (see apps/core/outcome.py)
        return
    principal, used, trace, model = request.principal, request.tokens, request.trace, request.model
    fields = {
        "request_id": request.request_id,
        "tenant": principal.tenant_slug,
        "key_prefix": principal.key_prefix,
        "user_id": principal.user_id,
        "endpoint": request.endpoint,
        "model": request.requested_model,
        "model_used": model.name if model else None,
        "provider": model.provider.name if model else None,
        "attempts": [attempt.short() for attempt in trace.attempts] if trace else [],
        "tokens_in": used.input_tokens,
        "tokens_out": used.output_tokens,
        "cost_usd": money.usd(request.cost_usd),
        "latency_ms": round(request.latency_ms, 2),
        "ttft_ms": round(request.ttft_ms, 2) if request.ttft_ms is not None else None,
        "stream": request.stream,
        "outcome": str(request.outcome),
        "trace_id": tracing.trace_id(),
    }
    if settings.LOG_PROMPTS:
        fields["prompt"] = request.chat.messages
    logger.info("generation", extra=fields)
    metrics.observe(request)
    tracing.finish(
        **{
            "catalyst.tenant": principal.tenant_slug, "catalyst.tier": principal.tier,
            "catalyst.model": fields["model_used"] or request.requested_model,
            "catalyst.cache": str(request.cache_status),
            "catalyst.tokens_in": fields["tokens_in"], "catalyst.tokens_out": fields["tokens_out"],
            "catalyst.cost_usd": float(request.cost_usd), "catalyst.outcome": str(request.outcome),
        }
    )  # fmt: skip


stage = Stage("telemetry", leave=report)
