"""The hot store: short-lived shared state for the request path (credential cache, counters).

With REDIS_URL it is Redis, shared by every instance; without it, an in-process dictionary with
expiry for the embedded single-process default. The hot path uses the async methods; services
that change state (revoke, suspend) run synchronously and use `delete_sync`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import redis
from django.conf import settings

from .protocol import RedisReplyError, RespConnection


class MemoryHotStore:
    durable = False  # nothing waits in memory: queued writes go to the database at once

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.backends: dict[object, object] = {}  # per_store(): each domain's state for this store

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    async def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(self.prefix + key)

    async def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._data[self.prefix + key] = (value, time.monotonic() + ttl)

    async def add(self, key: str, value: str, ttl: int) -> bool:
        with self._lock:
            if self._live(self.prefix + key) is not None:
                return False
            self._data[self.prefix + key] = (value, time.monotonic() + ttl)
            return True

    async def incr(self, key: str, ttl: int) -> int:
        """Count up; the count expires `ttl` seconds after its first increment."""
        with self._lock:
            current = self._live(self.prefix + key)
            expires = self._data[self.prefix + key][1] if current is not None else time.monotonic() + ttl
            value = int(current or 0) + 1
            self._data[self.prefix + key] = (str(value), expires)
            return value

    async def count_up(self, key: str, ttl: int) -> int:
        """Count up; the count lives at least `ttl` seconds after its latest increment."""
        with self._lock:
            current = self._live(self.prefix + key)
            expires = max(self._data[self.prefix + key][1] if current is not None else 0, time.monotonic() + ttl)
            value = int(current or 0) + 1
            self._data[self.prefix + key] = (str(value), expires)
            return value

    async def delete(self, *keys: str) -> None:
        self.delete_sync(*keys)

    def delete_sync(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(self.prefix + key, None)

    def set_sync(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._data[self.prefix + key] = (value, time.monotonic() + ttl)

    def incr_sync(self, key: str) -> None:
        with self._lock:
            value, expires = self._data.get(self.prefix + key, ("0", float("inf")))
            self._data[self.prefix + key] = (str(int(value) + 1), expires)

    def scan_sync(self, prefix: str, limit: int) -> dict[str, str]:
        """Up to `limit` live entries whose key starts with `prefix` (staff pages; never on the hot path)."""
        with self._lock:
            found = {}
            for key in list(self._data):
                if key.startswith(self.prefix + prefix) and (value := self._live(key)) is not None:
                    found[key.removeprefix(self.prefix)] = value
                    if len(found) >= limit:
                        break
            return found

    def clear_sync(self) -> None:
        with self._lock:
            self._data.clear()
            self.backends.clear()  # counters, holds and breakers kept in memory go with it

    async def health(self) -> str:
        return "not configured (embedded default)"

    async def close_connection(self) -> None:
        """Nothing to close: the store is this process's memory."""


class RedisHotStore:
    durable = True  # lists here outlive the process (AOF in production): queues may wait in it

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._sync = redis.Redis.from_url(url, decode_responses=True)
        self._scripts: dict[str, str] = {}
        self.backends: dict[object, object] = {}
        # Connections belong to the event loop that opened them.
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RespConnection] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def connection(self) -> RespConnection:
        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is None:
            connection = RespConnection(self.url)
            self._connections[loop] = connection
        return connection

    async def get(self, key: str) -> str | None:
        return await self.connection.execute("GET", self.prefix + key)

    async def health(self) -> str:
        try:
            return "ok" if await self.connection.execute("PING") == "PONG" else "unexpected reply"
        except Exception as error:  # whatever it is, readiness reports it rather than failing
            return f"unavailable: {type(error).__name__}"

    async def close_connection(self) -> None:
        """Close this event loop's connection (a loop about to end: a Celery task's, a script's)."""
        connection = self._connections.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            await connection.close()

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self.connection.execute("SET", self.prefix + key, value, "EX", ttl)

    async def add(self, key: str, value: str, ttl: int) -> bool:
        return await self.connection.execute("SET", self.prefix + key, value, "EX", ttl, "NX") == "OK"

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.connection.execute("DEL", *(self.prefix + key for key in keys))

    async def incr(self, key: str, ttl: int) -> int:
        """Count up; the count expires `ttl` seconds after its first increment."""
        connection, name = self.connection, self.prefix + key
        # Both leave in one write; EXPIRE NX (Redis 7) keeps the first increment's expiry.
        value, _ = await asyncio.gather(connection.execute("INCR", name), connection.execute("EXPIRE", name, ttl, "NX"))
        return value

    async def count_up(self, key: str, ttl: int) -> int:
        """Count up; the count lives at least `ttl` seconds after its latest increment."""
        connection, name = self.connection, self.prefix + key
        # One write: EXPIRE NX sets the first expiry, EXPIRE GT only ever extends it (Redis 7).
        value, _, _ = await asyncio.gather(
            connection.execute("INCR", name), connection.execute("EXPIRE", name, ttl, "NX"),
            connection.execute("EXPIRE", name, ttl, "GT"),
        )  # fmt: skip
        return value

    async def run_script(self, source: str, keys: list[str], args: list) -> object:
        """Run a Lua script atomically (EVALSHA, loading it on first use or after a Redis restart)."""
        prefixed = [self.prefix + key for key in keys]
        sha = self._scripts.get(source)
        if sha is not None:
            try:
                return await self.connection.execute("EVALSHA", sha, len(prefixed), *prefixed, *args)
            except RedisReplyError as error:
                if not str(error).startswith("NOSCRIPT"):
                    raise
        sha = self._scripts[source] = await self.connection.execute("SCRIPT", "LOAD", source)
        return await self.connection.execute("EVALSHA", sha, len(prefixed), *prefixed, *args)

    def delete_sync(self, *keys: str) -> None:
        if keys:
            self._sync.delete(*(self.prefix + key for key in keys))

    def set_sync(self, key: str, value: str, ttl: int) -> None:
        self._sync.set(self.prefix + key, value, ex=ttl)

    def incr_sync(self, key: str) -> None:
        self._sync.incr(self.prefix + key)

    def scan_sync(self, prefix: str, limit: int) -> dict[str, str]:
        """Up to `limit` entries whose key starts with `prefix` (staff pages; never on the hot path)."""
        keys = []
        for key in self._sync.scan_iter(match=self.prefix + prefix + "*", count=1000):
            keys.append(key)
            if len(keys) >= limit:
                break
        values = self._sync.mget(keys) if keys else []
        decode = lambda raw: raw.decode() if isinstance(raw, bytes) else raw  # noqa: E731
        return {
            decode(key).removeprefix(self.prefix): decode(value)
            for key, value in zip(keys, values, strict=True) if value is not None
        }  # fmt: skip

    def clear_sync(self) -> None:
        """Delete every key under this store's prefix (tests and resets; never on the hot path)."""
        batch = list(self._sync.scan_iter(match=self.prefix + "*", count=1000))
        if batch:
            self._sync.delete(*batch)


HotStore = MemoryHotStore | RedisHotStore


@lru_cache(maxsize=1)
def hot_store() -> HotStore:
    if settings.REDIS_URL:
        return RedisHotStore(settings.REDIS_URL, settings.HOTSTORE_PREFIX)
    return MemoryHotStore(settings.HOTSTORE_PREFIX)


Backend = TypeVar("Backend")


def per_store(
    *, redis: Callable[[RedisHotStore], Backend], memory: Callable[[MemoryHotStore], Backend]
) -> Callable[[], Backend]:
    """A domain's state object (limiter, holds, breakers) for the current hot store, made once per
    store: call sites use one interface and never ask which store they are on."""
    key = object()

    def current() -> Backend:
        store = hot_store()
        backend = store.backends.get(key)
        if backend is None:
            backend = store.backends[key] = redis(store) if isinstance(store, RedisHotStore) else memory(store)
        return backend

    return current
