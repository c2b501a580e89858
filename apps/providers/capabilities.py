"""What a provider kind can honour of a request: the rest is refused, never ignored silently.

OpenAI and OpenAI-compatible providers take every parameter of the canonical request. Anthropic's
Messages API has no log probabilities, seed or presence and frequency penalties, offers two
service tiers, and gives structured output by forcing a tool, which cannot be combined with the
request's own tools.
"""

from __future__ import annotations

from apps.catalogue.models import ProviderKind

from .types import ChatRequest

ANTHROPIC_SERVICE_TIERS = {"auto": "auto", "default": "standard_only"}


def unsupported(kind: str, request: ChatRequest) -> list[str]:
    """The request's parameters a provider of `kind` cannot honour (empty: it can do it all)."""
    if kind != ProviderKind.ANTHROPIC:
        return []
    missing = []
    if request.logprobs or request.top_logprobs:
        missing.append("logprobs")
    if request.seed is not None:
        missing.append("seed")
    if request.presence_penalty or request.frequency_penalty:
        missing.append("presence_penalty and frequency_penalty")
    if request.service_tier is not None and request.service_tier not in ANTHROPIC_SERVICE_TIERS:
        missing.append(f"service_tier '{request.service_tier}'")
    if request.response_format and request.response_format.get("type") != "text" and request.tools:
        missing.append("response_format together with tools")
    return missing
