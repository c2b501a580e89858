"""Routes: chains, fallbacks filtered by tier and scope, and model=auto by complexity and price."""

from decimal import Decimal

import pytest

from apps.catalogue.snapshot import Catalogue, ModelInfo, ProviderInfo
from apps.core.errors import NotFound, PermissionDenied
from apps.gateway import resilience, routing
from apps.providers.types import ChatRequest
from apps.tenancy.principal import Principal

PROVIDER = ProviderInfo(1, "p", "openai", "http://x", "", 5.0)


def model(name, quality=2, price="1", tiers=(), fallback=(), kind="chat", tools=True) -> ModelInfo:
    return ModelInfo(
        id=hash(name), name=name, provider=PROVIDER, upstream_name=name, kind=kind, context_window=100_000,
        max_output_tokens=4_000, price_input=Decimal(price), price_output=Decimal(price), price_cached_input=Decimal(0),
        quality=quality, supports_tools=tools, tiers=frozenset(tiers), fallback=tuple(fallback),
    )  # fmt: skip


CATALOGUE = Catalogue(
    version="v1",
    models={
        m.name: m
        for m in (
            model("tiny", quality=1, price="0.1"),
            model("mid", quality=3, price="1", fallback=("tiny", "big")),
            model("big", quality=5, price="10", tiers=("enterprise",)),
            model("notools", quality=4, price="0.5", tools=False),
            model("vec", kind="embedding"),
        )
    },
    chains={"team-chat": ("mid", "tiny", "big")},
)


def principal(tier="professional", models=()) -> Principal:
    return Principal(tenant_id=1, tenant_slug="t", tier=tier, method="api_key", allowed_models=tuple(models))


def names(route) -> list[str]:
    return [m.name for m in route]


def test_a_model_brings_its_fallbacks_minus_those_the_tier_may_not_use():
    assert names(routing.resolve_route(CATALOGUE, principal(), "mid", kind="chat")) == ["mid", "tiny"]
    assert names(routing.resolve_route(CATALOGUE, principal("enterprise"), "mid", kind="chat")) == [
        "mid",
        "tiny",
        "big",
    ]


def test_a_chain_name_routes_to_its_members_within_the_key_scope():
    assert names(routing.resolve_route(CATALOGUE, principal(models=("mid", "tiny")), "team-chat", kind="chat")) == [
        "mid",
        "tiny",
    ]


def test_unknown_and_forbidden_models_are_refused():
    with pytest.raises(NotFound) as unknown:
        routing.resolve_route(CATALOGUE, principal(), "gpt-9", kind="chat")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(PermissionDenied):
        routing.resolve_route(CATALOGUE, principal(), "big", kind="chat")
    with pytest.raises(PermissionDenied):
        routing.resolve_route(CATALOGUE, principal(models=("tiny",)), "mid", kind="chat")
    with pytest.raises(NotFound):
        routing.resolve_route(CATALOGUE, principal(), "vec", kind="chat")


def test_auto_sends_a_trivial_request_to_the_cheapest_model():
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}])

    assert routing.complexity(request) == 1
    assert names(routing.choose_auto(CATALOGUE, principal(), request))[0] == "tiny"


def test_auto_sends_a_hard_request_to_the_cheapest_capable_model():
    request = ChatRequest(messages=[{"role": "user", "content": "Prove this step by step:\n```x = 1```"}])

    assert routing.complexity(request) == 3
    assert names(routing.choose_auto(CATALOGUE, principal(), request)) == ["notools", "mid"]
    assert names(routing.choose_auto(CATALOGUE, principal("enterprise"), request)) == ["notools", "mid", "big"]


def test_auto_skips_models_without_tools_when_the_request_has_tools():
    request = ChatRequest(messages=[{"role": "user", "content": "Refactor this"}], tools=[{"type": "function"}])

    assert names(routing.choose_auto(CATALOGUE, principal(), request)) == ["mid"]


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after(settings):
    settings.GATEWAY_BACKOFF_BASE_SECONDS = 0.1
    settings.GATEWAY_BACKOFF_MAX_SECONDS = 1.0

    for attempt, ceiling in ((0, 0.1), (1, 0.2), (2, 0.4), (5, 1.0)):
        delays = [resilience.backoff_delay(attempt, None) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len(set(delays)) > 100
    assert resilience.backoff_delay(0, 3.0) == 3.0
