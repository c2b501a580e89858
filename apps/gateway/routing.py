"""From the model a client asked for to the ordered list of catalogue models to try: the
pipeline's first stage.

A request names a model, a fallback chain, or `auto`. Every candidate must be enabled, allowed
for the tenant's tier and inside the key's model scope; fallbacks outside them are dropped. The
stage also sizes the prompt with the first model's tokenizer and refuses what cannot fit.
"""

from __future__ import annotations

import re
from typing import Protocol

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import Catalogue, ModelInfo, current_catalogue
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, InvalidRequest, NotFound, PermissionDenied
from apps.core.outcome import Outcome
from apps.core.stage import Stage
from apps.metering import tokens
from apps.providers import capabilities
from apps.providers.types import ChatRequest
from apps.tenancy.principal import Principal

AUTO = "auto"
_HARD_WORDS = re.compile(
    r"\b(prove|proof|derive|analy[sz]e|architecture|step[- ]by[- ]step|refactor|optimi[sz]e|debug|trade-?offs?)\b",
    re.IGNORECASE,
)


def usable(model: ModelInfo, principal: Principal) -> bool:
    return model.allows_tier(principal.tier) and principal.may_use_model(model.name)


def models_for(catalogue: Catalogue, principal: Principal) -> list[ModelInfo]:
    return [m for m in catalogue.models.values() if usable(m, principal)]


def complexity(request: ChatRequest) -> int:
    """1 (trivial) to 5 (hard), from size, tools, code and the wording of the last user turn."""
    text = " ".join(str(m.get("content") or "") for m in request.messages)
    last = next((str(m.get("content") or "") for m in reversed(request.messages) if m["role"] == "user"), "")
    score = 1
    if len(text) > 2_000:
        score += 1
    if len(text) > 12_000:
        score += 1
    if request.tools or "```" in text:
        score += 1
    if _HARD_WORDS.search(last):
        score += 1
    if request.max_tokens and request.max_tokens > 4_000:
        score += 1
    return min(score, 5)


def _price(model: ModelInfo) -> tuple:
    return (model.price_input + model.price_output, -model.quality, model.name)


def choose_auto(catalogue: Catalogue, principal: Principal, request: ChatRequest) -> list[ModelInfo]:
    """The cheapest capable model first, then the next cheapest capable ones as fallbacks."""
    candidates = [m for m in models_for(catalogue, principal) if m.kind == ModelKind.CHAT]
    if request.tools:
        candidates = [m for m in candidates if m.supports_tools]
    if not candidates:
        raise PermissionDenied("No model is available to this key for model=auto.", code=ErrorCode.MODEL_NOT_ALLOWED)
    needed = complexity(request)
    capable = sorted((m for m in candidates if m.quality >= needed), key=_price)
    if not capable:
        capable = sorted(candidates, key=lambda m: (-m.quality, *_price(m)))
    return capable[:3]


def resolve_route(catalogue: Catalogue, principal: Principal, requested: str, *, kind: str) -> list[ModelInfo]:
    if requested in catalogue.chains:
        names = catalogue.chains[requested]
    elif requested in catalogue.models:
        names = (requested, *catalogue.models[requested].fallback)
    else:  # as OpenAI answers it: 404
        raise NotFound(
            f"The model '{requested}' does not exist or is not enabled.", code=ErrorCode.MODEL_NOT_FOUND, param="model"
        )
    if requested in catalogue.models:
        first = catalogue.models[requested]
        if first.kind != kind:
            raise NotFound(  # as OpenAI answers a chat model on /v1/embeddings: 404
                f"'{requested}' is not a {kind} model.", code=ErrorCode.MODEL_NOT_FOUND, param="model"
            )
        if not usable(first, principal):
            raise PermissionDenied(
                f"This key may not use the model '{requested}'.", code=ErrorCode.MODEL_NOT_ALLOWED, param="model"
            )
    elif not principal.may_use_model(requested) and not any(principal.may_use_model(n) for n in names):
        raise PermissionDenied(f"This key may not use '{requested}'.", code=ErrorCode.MODEL_NOT_ALLOWED, param="model")
    route = [catalogue.models[n] for n in names if n in catalogue.models]
    route = [m for m in route if m.kind == kind and usable(m, principal)]
    if not route:
        raise PermissionDenied(
            f"No model of '{requested}' is available to this key.", code=ErrorCode.MODEL_NOT_ALLOWED, param="model"
        )
    return route


class Routed(Protocol):
    principal: Principal
    requested_model: str
    kind: str
    chat: ChatRequest
    inputs: list[str]
    route: list[ModelInfo]
    prompt_tokens: int
    outcome: Outcome


async def route(request: Routed) -> None:
    try:
        catalogue = await current_catalogue()
        if request.kind == ModelKind.EMBEDDING:
            request.route = resolve_route(catalogue, request.principal, request.requested_model, kind=request.kind)
            request.prompt_tokens = sum(tokens.count_text(request.route[0], text) for text in request.inputs)
            return
        if request.requested_model == AUTO:
            request.route = choose_auto(catalogue, request.principal, request.chat)
        else:
            request.route = resolve_route(catalogue, request.principal, request.requested_model, kind=request.kind)
        request.route = able(request.route, request.chat)
        first, chat = request.route[0], request.chat
        request.prompt_tokens = tokens.prompt_tokens(first, chat.messages, chat.tools)
        validate_against(first, chat, request.prompt_tokens)
    except ApiError:
        request.outcome = Outcome.INVALID
        raise


def able(route: list[ModelInfo], chat: ChatRequest) -> list[ModelInfo]:
    """The route without the fallbacks that cannot honour the request; the first model must."""
    missing = capabilities.unsupported(route[0].provider.kind, chat)
    if missing:
        raise InvalidRequest(
            f"The model '{route[0].name}' cannot honour {', '.join(missing)}; leave it out or choose another model.",
            code=ErrorCode.UNSUPPORTED_PARAMETER,
        )
    return [model for model in route if not capabilities.unsupported(model.provider.kind, chat)]


def validate_against(model: ModelInfo, chat: ChatRequest, prompt_tokens: int) -> None:
    if chat.tools and not model.supports_tools:
        raise InvalidRequest(f"The model '{model.name}' does not support tools.", param="tools")
    _check_tool_choice(chat)
    # A max_tokens above what the model writes is an upper bound it cannot reach: it is lowered to
    # the model's maximum on the way upstream (resilience.for_model), as clients' defaults expect.
    if prompt_tokens + min(chat.max_tokens or 0, model.max_output_tokens) > model.context_window:
        raise InvalidRequest(
            f"{prompt_tokens} prompt tokens do not fit the {model.context_window}-token context of {model.name}.",
            code=ErrorCode.CONTEXT_LENGTH_EXCEEDED,
            param="messages",
        )


def _check_tool_choice(chat: ChatRequest) -> None:
    """A forced tool must be one the request offers; providers refuse it otherwise, after the hold."""
    choice = chat.tool_choice
    if choice is None or choice in ("auto", "none"):
        return
    offered = {tool["function"]["name"] for tool in chat.tools or ()}
    if choice == "required" and not offered:
        raise InvalidRequest("tool_choice 'required' needs at least one tool in tools.", param="tool_choice")
    if isinstance(choice, dict) and choice["function"]["name"] not in offered:
        raise InvalidRequest(
            f"tool_choice names the function '{choice['function']['name']}', which is not in tools.",
            param="tool_choice",
        )


stage = Stage("route", enter=route)
