"""The catalogue: default providers from the environment, snapshot reloads, model validation."""

from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apps.catalogue.models import LlmModel, ModelKind, Provider, ProviderKind
from apps.catalogue.snapshot import catalogue_changed, current_catalogue


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


def test_anthropic_providers_cannot_serve_embeddings(db):
    provider = Provider.objects.create(name="a", kind=ProviderKind.ANTHROPIC, base_url="https://a.example")
    model = LlmModel(name="vec", provider=provider, upstream_name="vec", kind=ModelKind.EMBEDDING)

    with pytest.raises(ValidationError, match="no embedding models"):
        model.full_clean()
