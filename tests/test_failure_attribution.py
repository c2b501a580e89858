"""Which failures count against the provider (and so against every tenant's circuit breaker)."""

import asyncio
import time

import pytest

from apps.catalogue.snapshot import ModelInfo, ProviderInfo
from apps.gateway import breaker, resilience
from apps.providers import anthropic_adapter, openai_adapter
from apps.providers.errors import FailureKind, ProviderError
from apps.providers.types import ChatRequest


def _model(kind: str, base_url: str) -> ModelInfo:
    provider = ProviderInfo(1, f"p-{kind}", kind, base_url, "", 2.0)
    return ModelInfo(
        id=1, name="m", provider=provider, upstream_name="m", kind="chat", context_window=10_000,
        max_output_tokens=100, price_input=0, price_output=0, price_cached_input=0, quality=1,
        supports_tools=True, tiers=frozenset(), fallback=(),
    )  # fmt: skip


LONE = ChatRequest(messages=[{"role": "user", "content": "a \ud800 b"}])


@pytest.mark.parametrize(
    ("adapter", "kind", "path"), [(openai_adapter, "openai", "/v1"), (anthropic_adapter, "anthropic", "")]
)
def test_a_request_that_cannot_be_encoded_is_the_requests_fault_and_never_leaves(mock_llm, adapter, kind, path):
    mock_llm.reset()
    model = _model(kind, mock_llm.url + path)

    with pytest.raises(ProviderError) as raised:
        asyncio.run(adapter.complete(model, LONE, 2.0))

    assert raised.value.kind == FailureKind.UNSENDABLE
    assert not raised.value.counts_against_provider
    assert mock_llm.requests() == []


def test_failures_of_the_request_never_move_the_breaker(mock_llm, store):
    mock_llm.reset()
    model = _model("openai", mock_llm.url + "/v1")

    async def attempts() -> list[str]:
        outcomes = []
        for _ in range(5):
            trace = resilience.Trace(deadline=time.monotonic() + 10)
            with pytest.raises(ProviderError):
                await resilience.complete([model], LONE, trace)
            outcomes.append(await breaker.state_of(resilience.breaker_key(model)))
        return outcomes

    assert asyncio.run(attempts()) == ["closed"] * 5


@pytest.mark.parametrize(
    ("kind", "counts"),
    [(FailureKind.SERVER_ERROR, True), (FailureKind.TIMEOUT, True), (FailureKind.DROPPED, True),
     (FailureKind.AUTH, True), (FailureKind.BAD_REQUEST, False), (FailureKind.UNSENDABLE, False),
     (FailureKind.MISCONFIGURED, False)],
)  # fmt: skip
def test_only_provider_faults_count_against_the_provider(kind, counts):
    assert ProviderError("x", kind=kind).counts_against_provider is counts
