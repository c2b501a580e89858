"""Authenticated credentials cached in the hot store, and their invalidation.

Entries are keyed by the SHA-256 of the presented key (or tenant and subject for JWTs), so a
steady-state request costs one hot-store read and no database query. Only credentials that
exist are cached: a wrong key costs a database lookup (throttled per client address in
authentication.py), never a cache entry, so random keys cannot grow the cache.

Every change to a key, tenant, membership or user `forget`s the affected entries at once and
again after the transaction commits, and moves the cache's generation on. A record loaded from
the database is written only if the generation has not moved since the load began, so a request
that read the old rows just before a change cannot put them back after it. With Redis every
instance shares the entries; without it (the embedded default) each process keeps its own, and
a database epoch tells every process within EPOCH_CHECK_SECONDS to drop them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction

from apps.core import epochs
from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store

ABSENT: dict = {}
GENERATION = "cred:generation"
EPOCH = "credentials"

# Write the entry only if no forget() happened since the caller read the generation.
_WRITE_IF_CURRENT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def key_entry(key_hash: str) -> str:
    return f"cred:key:{key_hash}"


def member_entry(tenant_slug: str, user_id: int | str) -> str:
    return f"cred:member:{tenant_slug}:{user_id}"


def key_used_entry(key_id: int) -> str:
    return f"cred:used:{key_id}"


class RedisCredentials:
    def __init__(self, store: RedisHotStore) -> None:
        self.store = store

    async def read(self, entry: str) -> str | None:
        return await self.store.get(entry)

    async def generation(self) -> str:
        return await self.store.get(GENERATION) or "0"

    async def write(self, entry: str, raw: str, generation: str) -> None:
        await self.store.run_script(
            _WRITE_IF_CURRENT, [GENERATION, entry], [generation, raw, settings.CREDENTIAL_CACHE_SECONDS]
        )

    def forget(self, entries: list[str]) -> None:
        self.store.incr_sync(GENERATION)
        self.store.delete_sync(*entries)


class MemoryCredentials:
    def __init__(self, store: MemoryHotStore) -> None:
        self.store = store
        self.entries: set[str] = set()
        self.current = 0
        self.watch = epochs.Watch(EPOCH)

    async def read(self, entry: str) -> str | None:
        if await self.watch.changed():  # another process changed a credential: drop them all
            self._drop(list(self.entries))
        return await self.store.get(entry)

    async def generation(self) -> str:
        return str(self.current)

    async def write(self, entry: str, raw: str, generation: str) -> None:
        if generation == str(self.current):
            self.entries.add(entry)
            await self.store.set(entry, raw, settings.CREDENTIAL_CACHE_SECONDS)

    def forget(self, entries: list[str]) -> None:
        self._drop(entries)
        epochs.bump(EPOCH)  # inside the caller's transaction: other processes see it once committed

    def _drop(self, entries: list[str]) -> None:
        self.current += 1
        self.entries.difference_update(entries)
        self.store.delete_sync(*entries)


_credentials = per_store(redis=RedisCredentials, memory=MemoryCredentials)


async def read_through(
    entry: str, load: Callable[..., dict], *args, before_load: Callable[[], Awaitable[None]] | None = None
) -> dict:
    """The cached record, or the database's answer (ABSENT when there is no such credential).
    `before_load` runs before going to the database, and may refuse by raising."""
    credentials = _credentials()
    raw = await credentials.read(entry)
    if raw is not None:
        return json.loads(raw)
    if before_load is not None:
        await before_load()
    generation = await credentials.generation()
    record = await sync_to_async(load)(*args)
    if record:
        await credentials.write(entry, json.dumps(record), generation)
    return record


def _forget(entries: list[str]) -> None:
    if not entries:
        return
    credentials = _credentials()
    credentials.forget(entries)
    transaction.on_commit(lambda: credentials.forget(entries))


def forget_keys(key_hashes: Iterable[str]) -> None:
    _forget([key_entry(h) for h in key_hashes])


def forget_tenant(tenant) -> None:
    """Drop every cached credential of a tenant (status, tier, membership changed, or deleted)."""
    hashes = list(tenant.api_keys.values_list("key_hash", flat=True))
    members = list(tenant.memberships.values_list("user_id", flat=True))
    _forget([key_entry(h) for h in hashes] + [member_entry(tenant.slug, uid) for uid in members])


def forget_user(user) -> None:
    """Drop a user's cached JWT identities in every tenant, and the keys bound to the user."""
    slugs = list(user.memberships.values_list("tenant__slug", flat=True))
    hashes = list(user.api_keys.values_list("key_hash", flat=True))
    _forget([member_entry(slug, user.pk) for slug in slugs] + [key_entry(h) for h in hashes])
