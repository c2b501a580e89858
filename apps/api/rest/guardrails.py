"""POST /v1/guardrails/check: the caller's tenant's guardrail rules applied to a text, without a
model call. Every detection of every enabled check, with the action the rule would take, and the
text the provider (input) or the client (output) would receive. Metered as a request: it counts
against the request limits and leaves a usage record (no tokens, no cost)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from apps.core.error_codes import ErrorCode
from apps.core.errors import RateLimited
from apps.guardrails import policy
from apps.guardrails.stage import judged
from apps.metering import limits, recorder
from apps.metering.stage import budget_caps
from apps.tenancy.principal import Principal

from ..edge import rest
from ..formats.validation import json_body, validated

MAX_CHARACTERS = 100_000


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(max_length=MAX_CHARACTERS)
    direction: Literal["input", "output"] = "input"
    context: str = Field(default="", max_length=MAX_CHARACTERS)  # a system prompt, for the injection check


@rest("guardrails", methods=("POST",))
async def check(http: HttpRequest, principal: Principal) -> JsonResponse:
    body = validated(CheckRequest, json_body(http))
    started, started_at = time.perf_counter(), timezone.now()
    if principal.limits is not None:
        decision = await limits.admit(principal, token_cost=0, request_id=http.request_id, stream=False)
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit reached ({decision.denied}); retry after {decision.headers()['Retry-After']} s.",
                code=ErrorCode.RATE_LIMITED, headers=decision.headers(),
            )  # fmt: skip
    rules = (await policy.current()).resolve(principal)
    inspection = await judged(principal, http.request_id, body.text, body.direction, rules, context=body.context)
    if principal.limits is not None:
        await recorder.record(_usage(http.request_id, principal, started), None, budget_caps(principal), now=started_at)
    return JsonResponse({
        "flagged": inspection.flagged,
        "results": [result.as_dict() for result in inspection.results],
        "redacted_text": inspection.text,
    })  # fmt: skip


def _usage(request_id: str, principal: Principal, started: float) -> dict:
    zero = Decimal(0)
    return {
        "request_id": request_id, "tenant_id": principal.tenant_id, "team_id": principal.team_id,
        "key_id": principal.key_id, "user_id": principal.user_id, "endpoint": "guardrails", "model": "",
        "provider": "", "tokens_in": 0, "tokens_out": 0, "tokens_cached": 0, "price_input": zero,
        "price_output": zero, "price_cached_input": zero, "cost_usd": zero,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3), "ttft_ms": None, "outcome": "ok",
        "stream": False, "cache_status": "BYPASS", "tokens_replayed": 0, "saved_usd": zero,
    }  # fmt: skip
