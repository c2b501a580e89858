"""Pooled SDK clients, one per provider per event loop, sharing one HTTP connection pool.

The SDKs' own retries are off: the gateway's resilience layer retries and falls back itself.
Keys come from the environment variable the provider names; they are never stored or logged.
"""

from __future__ import annotations

import asyncio
import os
import weakref

import anthropic
import httpx2
import openai

from apps.catalogue.snapshot import ProviderInfo

from .errors import FailureKind, ProviderError
from .transport import AiohttpTransport

_NO_KEY = "not-needed"  # self-hosted servers that take no key still need a non-empty value

_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = weakref.WeakKeyDictionary()


def provider_key(provider: ProviderInfo) -> str:
    if not provider.api_key_env:
        return _NO_KEY
    key = os.environ.get(provider.api_key_env)
    if not key:
        raise ProviderError(
            f"Provider {provider.name} is not configured: its key variable is unset.", kind=FailureKind.MISCONFIGURED
        )
    return key


def _clients() -> dict:
    loop = asyncio.get_running_loop()
    clients = _per_loop.get(loop)
    if clients is None:
        # Both SDKs take an httpx2 client; one aiohttp connection pool serves them (transport.py).
        http = httpx2.AsyncClient(transport=AiohttpTransport(), timeout=httpx2.Timeout(60.0, connect=5.0))
        clients = {"http": http}
        _per_loop[loop] = clients
    return clients


def _client(kind: str, provider: ProviderInfo, factory):
    key = provider_key(provider)
    clients = _clients()
    cache_key = (kind, provider.id, provider.base_url, key)
    client = clients.get(cache_key)
    if client is None:
        client = factory(api_key=key, base_url=provider.base_url, max_retries=0, http_client=clients["http"])
        clients[cache_key] = client
    return client


def openai_client(provider: ProviderInfo) -> openai.AsyncOpenAI:
    return _client("openai", provider, openai.AsyncOpenAI)


def anthropic_client(provider: ProviderInfo) -> anthropic.AsyncAnthropic:
    return _client("anthropic", provider, anthropic.AsyncAnthropic)
