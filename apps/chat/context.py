"""What a chat message sends upstream: the rolling summary, then as many recent turns as fit.

The newest turns are kept whole, oldest dropped first; the summary (written by `summary.py`)
stands in for everything it covers. The budget is the smaller of CHAT_CONTEXT_TOKENS and what
the model's context window leaves after room for its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import Catalogue, ModelInfo
from apps.gateway import routing
from apps.metering import tokens
from apps.tenancy.principal import Principal

SUMMARY_PREFIX = "Summary of the earlier part of this conversation:\n"


def sizing_model(catalogue: Catalogue, principal: Principal, requested: str) -> ModelInfo | None:
    """The model whose context window and tokenizer size the history (the smallest, for auto)."""
    if requested in catalogue.chains:
        requested = catalogue.chains[requested][0]
    if requested in catalogue.models:
        return catalogue.models[requested]
    usable = [m for m in routing.models_for(catalogue, principal) if m.kind == ModelKind.CHAT]
    return min(usable, key=lambda m: m.context_window, default=None)


def token_budget(model: ModelInfo | None) -> int:
    if model is None:
        return settings.CHAT_CONTEXT_TOKENS
    answer_room = min(model.max_output_tokens, settings.LIMITS_EXPECTED_OUTPUT_TOKENS)
    return max(min(settings.CHAT_CONTEXT_TOKENS, model.context_window - answer_room), 1)


def build(
    history: list[tuple[str, str]], summary: str, budget: int, count: Callable[[str], int]
) -> list[dict[str, Any]]:
    """Chat messages, oldest first: the summary if any, then the newest turns within `budget`.

    The last turn (the user's) is always sent: if it alone is too long, the pipeline refuses it
    with `context_length_exceeded` rather than this function cutting it silently.
    """
    kept: list[dict[str, Any]] = []
    spent = count(SUMMARY_PREFIX + summary) if summary else 0
    for index, (role, content) in enumerate(reversed(history)):
        cost = count(content) + 4  # the per-message framing of chat formats
        if index > 0 and spent + cost > budget:
            break
        kept.append({"role": role, "content": content})
        spent += cost
    kept.reverse()
    if summary:
        kept.insert(0, {"role": "system", "content": SUMMARY_PREFIX + summary})
    return kept


def counter(model: ModelInfo | None) -> Callable[[str], int]:
    return lambda text: tokens.count_text(model, text)
