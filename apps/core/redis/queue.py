"""A durable queue in Redis drained into the database in batches, off the request path.

Producers append JSON entries to a Redis list (durable as Redis is: AOF in production). A
flusher task in every web process (QUEUE_FLUSHER=web) or the Celery workers, asked by beat every
QUEUE_FLUSH_SECONDS (QUEUE_FLUSHER=worker), move batches into the database under a lock, then
trim them from the list; a writer must skip entries it already
stored (a flusher that died between writing and trimming), so each entry lands exactly once.
Usage records and the audit trail both travel this way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from .hotstore import hot_store

logger = logging.getLogger("catalyst.queue")
LOCK_SECONDS = 120

# Trim what was written only while still holding the lock: a flusher whose lock expired during a
# slow write must not trim entries another flusher has read since (they would never be stored).
# With the trim, subtract what the batch added to counters of queued totals (KEYS[3..], two
# fields each: `units` and `tokens`), so those totals cover exactly the entries still queued.
_TRIM_IF_OWNER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
for i = 3, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'units', 0 - tonumber(ARGV[i * 2 - 3]))
  redis.call('HINCRBY', KEYS[i], 'tokens', 0 - tonumber(ARGV[i * 2 - 2]))
end
redis.call('DEL', KEYS[1])
return 1
"""


class DurableQueue:
    def __init__(
        self,
        name: str,
        write: Callable[[list[str]], object],
        *,
        totals: Callable[[list[str]], dict[str, tuple[int, int]]] | None = None,
        batch: int = 500,
        interval: float = 0.25,
    ):
        self.key = f"{name}:pending"
        self.lock = f"{name}:flush-lock"
        self.write = write  # takes the raw JSON entries, oldest first; runs on a worker thread
        self.totals = totals  # a batch's (units, tokens) per counter key, subtracted once it is written
        self.batch = batch
        self.interval = interval
        self._flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()

    def ensure_flusher(self) -> None:
        if settings.QUEUE_FLUSHER != "web":  # the workers drain the queue
            return
        loop = asyncio.get_running_loop()
        task = self._flushers.get(loop)
        if task is None or task.done():
            self._flushers[loop] = loop.create_task(self._flush_forever())

    async def push(self, entry: str) -> None:
        store = hot_store()
        await store.connection.execute("RPUSH", store.prefix + self.key, entry)
        self.ensure_flusher()

    async def depth(self) -> int:
        """Entries waiting for the database (0 without Redis: nothing is ever queued then)."""
        store = hot_store()
        if not store.durable:
            return 0
        return await store.connection.execute("LLEN", store.prefix + self.key)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                while await self.flush_once() == self.batch:  # a full batch: more may be waiting
                    pass
            except Exception:  # keep flushing; the entries stay queued until a flush succeeds
                logger.exception("flush failed", extra={"queue": self.key})

    async def flush_once(self) -> int:
        """Move one batch into the database. Returns how many queued entries it moved."""
        store = hot_store()
        if not store.durable:
            return 0
        token = uuid.uuid4().hex
        connection = store.connection
        if await connection.execute("SET", store.prefix + self.lock, token, "NX", "EX", LOCK_SECONDS) != "OK":
            return 0
        trimmed = False
        try:
            raw = await connection.execute("LRANGE", store.prefix + self.key, 0, self.batch - 1)
            if not raw:
                return 0
            await sync_to_async(self.write)(raw)
            totals = self.totals(raw) if self.totals else {}
            keys = [self.lock, self.key, *totals]
            args = [token, len(raw), *(amount for pair in totals.values() for amount in pair)]
            trimmed = await store.run_script(_TRIM_IF_OWNER, keys, args) == 1
            return len(raw) if trimmed else 0
        finally:
            if not trimmed and await connection.execute("GET", store.prefix + self.lock) == token:
                await connection.execute("DEL", store.prefix + self.lock)

    def drain(self) -> int:
        """flush_all for synchronous callers (Celery tasks): on an event loop of its own, whose
        Redis connection is closed before it ends, so a worker draining every second keeps no sockets."""

        async def flush_and_close() -> int:
            try:
                return await self.flush_all()
            finally:
                await hot_store().close_connection()

        return async_to_sync(flush_and_close)()

    async def flush_all(self) -> int:
        """Flush until the queue is empty (or another process holds the flush lock)."""
        total = 0
        while moved := await self.flush_once():
            total += moved
        return total
