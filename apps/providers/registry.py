"""Which adapter serves which provider kind."""

from __future__ import annotations

from types import ModuleType

from apps.catalogue.models import ProviderKind

from . import anthropic_adapter, openai_adapter

_ADAPTERS: dict[str, ModuleType] = {
    ProviderKind.OPENAI: openai_adapter,
    ProviderKind.OPENAI_COMPATIBLE: openai_adapter,
    ProviderKind.ANTHROPIC: anthropic_adapter,
}


def adapter_for(kind: str) -> ModuleType:
    return _ADAPTERS[kind]
