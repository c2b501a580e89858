"""Catalogue writes that are not plain admin edits."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from .models import ChainLink, FallbackChain, LlmModel, ModelKind, Provider, ProviderKind
from .snapshot import catalogue_changed

# name, provider, upstream name, kind, $/M in, $/M out, quality, context window, most output tokens
DEMO_MODELS = [
    ("gpt-4o-mini", "mock-openai", "gpt-4o-mini", ModelKind.CHAT, "0.15", "0.60", 2, 128_000, 16_384),
    ("gpt-4o", "mock-openai", "gpt-4o", ModelKind.CHAT, "2.50", "10.00", 4, 128_000, 16_384),
    ("claude-sonnet", "mock-anthropic", "claude-sonnet-4", ModelKind.CHAT, "3.00", "15.00", 5, 200_000, 64_000),
    ("text-embedding-3-small", "mock-openai", "text-embedding-3-small", ModelKind.EMBEDDING, "0.02", "0", 1, 8_191, 1),
]


@transaction.atomic
def catalogue_seed_demo(*, mock_url: str) -> None:
    """Point a demo catalogue at the bundled mock LLM server (idempotent; used by `make run`)."""
    base = mock_url.rstrip("/")
    providers = {
        "mock-openai": Provider.objects.update_or_create(
            name="mock-openai", defaults={"kind": ProviderKind.OPENAI, "base_url": f"{base}/v1", "api_key_env": ""}
        )[0],
        "mock-anthropic": Provider.objects.update_or_create(
            name="mock-anthropic", defaults={"kind": ProviderKind.ANTHROPIC, "base_url": base, "api_key_env": ""}
        )[0],
    }
    chain, _ = FallbackChain.objects.get_or_create(name="default", defaults={"description": "Cheap first, then strong"})
    models = {}
    for name, provider, upstream, kind, price_in, price_out, quality, window, most_out in DEMO_MODELS:
        models[name], _ = LlmModel.objects.update_or_create(
            name=name,
            defaults={
                "provider": providers[provider],
                "upstream_name": upstream,
                "kind": kind,
                "price_input": Decimal(price_in),
                "price_output": Decimal(price_out),
                "quality": quality,
                "context_window": window,
                "max_output_tokens": most_out,
            },
        )
    for position, name in enumerate(("gpt-4o-mini", "gpt-4o", "claude-sonnet")):
        ChainLink.objects.update_or_create(chain=chain, model=models[name], defaults={"position": position})
    LlmModel.objects.filter(name="gpt-4o-mini").update(fallback_chain=chain)
    catalogue_changed()
