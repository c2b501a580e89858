"""POST /v1/guardrails/check: the caller's tenant's guardrail rules applied to a text, without a
model call. Every detection of every enabled check, with the action the rule would take, and the
text the provider (input) or the client (output) would receive. Metered as a request: it counts
against the request limits and leaves a usage record (no tokens, no cost)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, ConfigDict, Field

from apps.guardrails import policy
from apps.guardrails.stage import judged
from apps.metering import metered
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
    call = await metered.admit(principal, http.request_id, "guardrails")
    rules = (await policy.current()).resolve(principal)
    inspection = await judged(principal, http.request_id, body.text, body.direction, rules, context=body.context)
    await metered.record(call)
    return JsonResponse({
        "flagged": inspection.flagged,
        "results": [result.as_dict() for result in inspection.results],
        "redacted_text": inspection.text,
    })  # fmt: skip
