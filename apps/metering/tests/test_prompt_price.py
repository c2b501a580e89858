"""The budget hold prices a prompt at the most it can cost: a provider may write all of it to its
prompt cache, and a write can cost more than plain input."""

from decimal import Decimal

from apps.catalogue.snapshot import ModelInfo, ProviderInfo
from apps.metering.stage import _prompt_usd

PROVIDER = ProviderInfo(1, "p", "anthropic", "http://x", "", 5.0)


def model(write: str | None) -> ModelInfo:
    return ModelInfo(
        id=1, name="m", provider=PROVIDER, upstream_name="m", kind="chat", context_window=200_000,
        max_output_tokens=4_000, price_input=Decimal(3), price_output=Decimal(15), price_cached_input=Decimal("0.3"),
        quality=3, supports_tools=True, tiers=frozenset(), fallback=(),
        price_cache_write=None if write is None else Decimal(write),
    )  # fmt: skip


def test_a_prompt_is_held_at_the_cache_write_price_when_that_is_higher():
    assert _prompt_usd(model("3.75"), 1_000_000) == Decimal("3.75")


def test_a_prompt_is_held_at_the_input_price_when_writes_cost_less_or_are_unpriced():
    assert _prompt_usd(model("1.5"), 1_000_000) == Decimal(3)
    assert _prompt_usd(model(None), 1_000_000) == Decimal(3)
