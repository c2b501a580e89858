"""Usage recording off the request path, batched but durable.

Each finished request settles its hold and appends its usage record to a Redis list in one Lua
call (durable as Redis is: AOF in production). A flusher in every process, and a Celery beat
task as a backstop, move batches from the list into the database under a lock; a batch already
written (a flusher that died before trimming) is skipped record by record, so each record is
counted exactly once. Without Redis (the embedded default) records go straight to the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
import weakref
from decimal import Decimal

from asgiref.sync import sync_to_async

from apps.core.hotstore import RedisHotStore, hot_store

from . import holds, ledger

logger = logging.getLogger("catalyst.metering")
BATCH = 500
INTERVAL = 0.25  # records reach the database within about this long; batches amortise the writes
LOCK = "usage:flush-lock"
_DECIMALS = ("price_input", "price_output", "price_cached_input", "cost_usd", "caps_usd")
_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()


def _dumps(record: dict) -> str:
    return json.dumps(record, default=str, separators=(",", ":"))


def _loads(raw: str) -> dict:
    record = json.loads(raw)
    for name in _DECIMALS:
        if record.get(name) is not None:
            record[name] = Decimal(record[name])
    record["created_at"] = dt.datetime.fromisoformat(record["created_at"])
    return record


async def record(usage: dict, hold: holds.Hold | None, caps: ledger.Caps) -> None:
    """Settle the request's hold and store its usage record (queued, or written at once)."""
    now = dt.datetime.now(dt.UTC)
    usage = {**usage, "created_at": now, "caps_usd": caps.usd, "caps_tokens": caps.tokens}
    tokens = usage["tokens_in"] + usage["tokens_out"]
    period = hold.period if hold else ledger.month_start(now)
    queued = await holds.settle(
        tenant_id=usage["tenant_id"], period=period, hold=hold, cost_usd=usage["cost_usd"], tokens=tokens,
        queued=_dumps(usage),
    )  # fmt: skip
    if queued:
        _ensure_flusher()
    else:
        await sync_to_async(ledger.write_batch)([usage])


def _ensure_flusher() -> None:
    loop = asyncio.get_running_loop()
    task = _flushers.get(loop)
    if task is None or task.done():
        _flushers[loop] = loop.create_task(_flush_forever())


async def _flush_forever() -> None:
    while True:
        await asyncio.sleep(INTERVAL)
        try:
            while await flush_once() == BATCH:  # a full batch: more may be waiting
                pass
        except Exception:  # keep flushing; the records stay queued until a flush succeeds
            logger.exception("usage flush failed")


async def flush_once() -> int:
    """Move one batch from the queue into the database. Returns how many queued entries it moved."""
    store = hot_store()
    if not isinstance(store, RedisHotStore):
        return 0
    token = uuid.uuid4().hex
    connection = store.connection
    if await connection.execute("SET", store.prefix + LOCK, token, "NX", "EX", 30) != "OK":
        return 0
    try:
        raw = await connection.execute("LRANGE", store.prefix + holds.PENDING, 0, BATCH - 1)
        if not raw:
            return 0
        await sync_to_async(ledger.write_batch)([_loads(item) for item in raw])
        await connection.execute("LTRIM", store.prefix + holds.PENDING, len(raw), -1)
        return len(raw)
    finally:
        if await connection.execute("GET", store.prefix + LOCK) == token:
            await connection.execute("DEL", store.prefix + LOCK)


async def flush_all() -> int:
    """Flush until the queue is empty (or another process holds the flush lock)."""
    total = 0
    while moved := await flush_once():
        total += moved
    return total
