"""An immutable in-process snapshot of the catalogue, so routing costs no database query.

Staff edits bump a version every process can read: an entry in Redis, or, for the embedded
default, a database epoch (its hot store is each process's own). Each process compares versions
at most once per `CATALOGUE_CHECK_INTERVAL_SECONDS` and reloads when they differ, so changes
reach every instance within that interval.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import epochs
from apps.core.db import refresh_connections
from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store

from .models import ChainLink, FallbackChain, LlmModel, ModelPrice

T = TypeVar("T")

VERSION_ENTRY = "catalogue:version"
VERSION_TTL = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: int
    name: str
    kind: str
    base_url: str
    api_key_env: str
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: int
    name: str
    provider: ProviderInfo
    upstream_name: str
    kind: str
    context_window: int
    max_output_tokens: int
    price_input: Decimal
    price_output: Decimal
    price_cached_input: Decimal
    quality: int
    supports_tools: bool
    tiers: frozenset[str]
    fallback: tuple[str, ...]
    price_cache_write: Decimal | None = None  # None: the input price

    def allows_tier(self, tier: str) -> bool:
        return not self.tiers or tier in self.tiers

    @property
    def cache_write_price(self) -> Decimal:
        return self.price_input if self.price_cache_write is None else self.price_cache_write

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, written: int = 0) -> Decimal:
        """The cost of a call: input read from the prompt cache and input written to it are priced
        apart from the rest of the input (both are counted in `input_tokens`)."""
        plain = max(input_tokens - cached_tokens - written, 0)
        total = (
            plain * self.price_input
            + cached_tokens * self.price_cached_input
            + written * self.cache_write_price
            + output_tokens * self.price_output
        )
        return (total / Decimal(1_000_000)).quantize(Decimal("0.00000001"))


@dataclass(frozen=True)
class Catalogue:
    version: str
    models: dict[str, ModelInfo] = field(default_factory=dict)
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    next_price_change: float | None = None  # epoch seconds; the snapshot is reloaded then


Prices = tuple[Decimal, Decimal, Decimal, Decimal | None]  # input, output, cached input, cache write


def _prices_now(now: dt.datetime) -> tuple[dict[int, Prices], float | None]:
    """Each model's latest price change in effect, and when the next scheduled one starts."""
    current: dict[int, Prices] = {}
    upcoming = ModelPrice.objects.filter(effective_from__gt=now).order_by("effective_from").first()
    for change in ModelPrice.objects.filter(effective_from__lte=now).order_by("effective_from"):
        current[change.model_id] = (
            change.price_input,
            change.price_output,
            change.price_cached_input,
            change.price_cache_write,
        )
    return current, upcoming.effective_from.timestamp() if upcoming else None


def load_catalogue(version: str) -> Catalogue:
    refresh_connections()
    prices, next_change = _prices_now(timezone.now())
    chains: dict[str, tuple[str, ...]] = {}
    chain_ids: dict[int, tuple[str, ...]] = {}
    links = ChainLink.objects.select_related("model").filter(model__enabled=True, model__provider__enabled=True)
    grouped: dict[int, list[tuple[int, str]]] = {}
    for link in links:
        grouped.setdefault(link.chain_id, []).append((link.position, link.model.name))
    for chain in FallbackChain.objects.all():
        names = tuple(name for _, name in sorted(grouped.get(chain.pk, [])))
        chains[chain.name] = names
        chain_ids[chain.pk] = names

    models: dict[str, ModelInfo] = {}
    queryset = LlmModel.objects.select_related("provider").prefetch_related("tiers")
    for row in queryset.filter(enabled=True, provider__enabled=True):
        provider = row.provider
        price_input, price_output, price_cached, price_write = prices.get(
            row.pk, (row.price_input, row.price_output, row.price_cached_input, row.price_cache_write)
        )
        models[row.name] = ModelInfo(
            id=row.pk,
            name=row.name,
            provider=ProviderInfo(
                id=provider.pk,
                name=provider.name,
                kind=provider.kind,
                base_url=provider.base_url,
                api_key_env=provider.api_key_env,
                timeout_seconds=provider.timeout_seconds,
            ),
            upstream_name=row.upstream_name,
            kind=row.kind,
            context_window=row.context_window,
            max_output_tokens=row.max_output_tokens,
            price_input=price_input,
            price_output=price_output,
            price_cached_input=price_cached,
            quality=row.quality,
            supports_tools=row.supports_tools,
            tiers=frozenset(t.name for t in row.tiers.all()),
            fallback=tuple(n for n in chain_ids.get(row.fallback_chain_id, ()) if n != row.name),
            price_cache_write=price_write,
        )
    return Catalogue(version=version, models=models, chains=chains, next_price_change=next_change)


class RedisVersion:
    def __init__(self, store: RedisHotStore) -> None:
        self.store = store

    async def current(self) -> str:
        """When the entry is gone (a flushed or new Redis), the first process to notice sets a
        fresh one, so every process reloads once instead of each keeping what it last loaded."""
        version = await self.store.get(VERSION_ENTRY)
        if version is None:
            await self.store.add(VERSION_ENTRY, uuid.uuid4().hex, VERSION_TTL)
            version = await self.store.get(VERSION_ENTRY) or "initial"
        return version

    def bump(self) -> None:
        self.store.set_sync(VERSION_ENTRY, uuid.uuid4().hex, VERSION_TTL)


class MemoryVersion:
    def __init__(self, store: MemoryHotStore) -> None:
        self.watch = epochs.Watch("catalogue")

    async def current(self) -> str:
        await self.watch.changed()
        return str(self.watch.value)

    def bump(self) -> None:
        epochs.bump("catalogue")
        self.watch.checked_at = float("-inf")  # this process reads its own change at once


_version = per_store(redis=RedisVersion, memory=MemoryVersion)


def _bump_version() -> None:
    _version().bump()
    forget_snapshot()


def catalogue_changed() -> None:
    """Call after any staff edit of providers, models or chains: every process reloads.

    Bumped now and again after commit, so no process can cache the pre-commit rows under the
    new version.
    """
    _bump_version()
    transaction.on_commit(_bump_version)


class _Holder:
    def __init__(self) -> None:
        self.catalogue: Catalogue | None = None
        self.checked_at = 0.0


_holder = _Holder()


async def current_catalogue() -> Catalogue:
    now = time.monotonic()
    snapshot = _holder.catalogue
    price_due = snapshot is not None and snapshot.next_price_change is not None
    price_due = price_due and time.time() >= snapshot.next_price_change
    if snapshot is not None and not price_due and now - _holder.checked_at < settings.CATALOGUE_CHECK_INTERVAL_SECONDS:
        return snapshot
    version = await _shared_version()
    _holder.checked_at = now
    if snapshot is not None and snapshot.version == version and not price_due:
        return snapshot
    _holder.catalogue = await sync_to_async(load_catalogue)(version)
    return _holder.catalogue


async def _shared_version() -> str:
    """The catalogue version every process compares against."""
    return await _version().current()


def forget_snapshot() -> None:
    """Drop this process's snapshot (tests, and after catalogue_changed in the same process)."""
    _holder.catalogue = None
    _holder.checked_at = 0.0


class PerVersion(Generic[T]):
    """A value read from the database once per catalogue version (cache policies, guardrail
    rules): staff edits bump the version (ReloadsCatalogue), so every process reloads it with its
    next request, and resolving it costs no query."""

    def __init__(self, load: Callable[[str], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._version: str | None = None

    async def current(self) -> T:
        version = (await current_catalogue()).version
        if self._value is None or self._version != version:
            self._value, self._version = await sync_to_async(self._load)(version), version
        return self._value

    def forget(self) -> None:
        self._value = None
