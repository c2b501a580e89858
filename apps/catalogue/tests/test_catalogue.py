"""The catalogue: default providers from the environment, snapshot reloads, model validation."""

from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apps.catalogue.models import LlmModel, ModelKind, Provider, ProviderKind
from apps.catalogue.snapshot import catalogue_changed, current_catalogue
from apps.core.redis.hotstore import hot_store


def test_default_providers_come_from_the_environment_without_storing_keys(db, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.internal.example/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-never-stored")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = StringIO()

    call_command("add_default_providers", stdout=out)

    rows = {p.name: (p.kind, p.base_url, p.api_key_env) for p in Provider.objects.all()}
    assert rows == {
        "openai": (ProviderKind.OPENAI, "https://llm.internal.example/v1", "OPENAI_API_KEY"),
        "anthropic": (ProviderKind.ANTHROPIC, "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    }
    assert "sk-canary" not in out.getvalue()
    assert "key from ANTHROPIC_API_KEY: NOT set" in out.getvalue()


def test_a_catalogue_change_reaches_the_snapshot(db, settings):
    settings.CATALOGUE_CHECK_INTERVAL_SECONDS = 0
    provider = Provider.objects.create(name="p", kind=ProviderKind.OPENAI, base_url="https://x.example/v1")
    LlmModel.objects.create(name="one", provider=provider, upstream_name="one")

    first = async_to_sync(current_catalogue)()
    LlmModel.objects.create(name="two", provider=provider, upstream_name="two")
    unchanged = async_to_sync(current_catalogue)()
    catalogue_changed()
    second = async_to_sync(current_catalogue)()

    assert set(first.models) == set(unchanged.models) == {"one"}
    assert set(second.models) == {"one", "two"}


def test_every_process_reloads_once_when_the_shared_version_is_lost(db, settings):
    """A flushed Redis loses the version: the next check sets a fresh one, and processes reload."""
    settings.CATALOGUE_CHECK_INTERVAL_SECONDS = 0
    provider = Provider.objects.create(name="p", kind=ProviderKind.OPENAI, base_url="https://x.example/v1")
    LlmModel.objects.create(name="one", provider=provider, upstream_name="one")
    first = async_to_sync(current_catalogue)()
    LlmModel.objects.create(name="two", provider=provider, upstream_name="two")  # no catalogue_changed()

    hot_store().clear_sync()
    reloaded = async_to_sync(current_catalogue)()
    settled = async_to_sync(current_catalogue)()

    assert set(first.models) == {"one"}
    assert set(reloaded.models) == {"one", "two"}
    assert settled is reloaded  # the fresh version sticks: no reload on every check


def test_anthropic_providers_cannot_serve_embeddings(db):
    provider = Provider.objects.create(name="a", kind=ProviderKind.ANTHROPIC, base_url="https://a.example")
    model = LlmModel(name="vec", provider=provider, upstream_name="vec", kind=ModelKind.EMBEDDING)

    with pytest.raises(ValidationError, match="no embedding models"):
        model.full_clean()


def test_scheduled_price_changes_apply_from_their_moment(db, settings, monkeypatch):
    import datetime as dt
    from decimal import Decimal

    from apps.catalogue import snapshot
    from apps.catalogue.models import ModelPrice

    settings.CATALOGUE_CHECK_INTERVAL_SECONDS = 3600
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    provider = Provider.objects.create(name="p", kind=ProviderKind.OPENAI, base_url="https://x.example/v1")
    model = LlmModel.objects.create(
        name="m", provider=provider, upstream_name="m", price_input=Decimal(1), price_output=Decimal(2)
    )
    ModelPrice.objects.create(model=model, effective_from=now - dt.timedelta(days=1), price_input=3, price_output=4)
    ModelPrice.objects.create(
        model=model, effective_from=now + dt.timedelta(hours=1), price_input=5, price_output=6,
        price_cached_input=Decimal("0.5"), price_cache_write=Decimal("6.25"),
    )  # fmt: skip
    monkeypatch.setattr(snapshot.timezone, "now", lambda: now)
    monkeypatch.setattr(snapshot.time, "time", lambda: now.timestamp())

    before = async_to_sync(current_catalogue)()
    monkeypatch.setattr(snapshot.timezone, "now", lambda: now + dt.timedelta(hours=1))
    monkeypatch.setattr(snapshot.time, "time", lambda: (now + dt.timedelta(hours=1)).timestamp())
    after = async_to_sync(current_catalogue)()

    assert (before.models["m"].price_input, before.models["m"].price_output) == (Decimal(3), Decimal(4))
    assert before.next_price_change == (now + dt.timedelta(hours=1)).timestamp()
    assert (after.models["m"].price_input, after.models["m"].price_output) == (Decimal(5), Decimal(6))
    assert after.models["m"].cost_usd(1_000_000, 1_000_000) == Decimal(11)
    # of 4M input tokens, 1M read from the provider's cache and 2M written to it: each at its price
    assert after.models["m"].cost_usd(4_000_000, 0, 1_000_000, 2_000_000) == Decimal("5") + Decimal("0.5") + Decimal(
        "12.5"
    )
    assert before.models["m"].price_cache_write is None  # none set: a write costs the input price
    assert before.models["m"].cost_usd(2_000_000, 0, 0, 2_000_000) == Decimal(6)
