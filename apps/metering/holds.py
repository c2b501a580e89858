"""Budget holds in the hot store: the request-path half of the budget ledger.

Per tenant and month a hash keeps `spent` and `reserved` (USD in units of 1e-8, and tokens) and
a sorted set keeps each in-flight request's hold, scored by its expiry. A reservation is one
atomic step that drops expired holds, works out how many output tokens the budget still allows,
and holds the prompt plus that many tokens at the route's highest prices: the hold bounds what
the request can cost, because that output cap is what goes upstream as `max_tokens`.

Settling releases the hold, counts the spend and stores the usage record durably. Spend whose
record has not reached the database yet is also counted apart (`unflushed`), whatever the state
of the budget hash, so a hash seeded from the database ledger (a new month, an evicted or
flushed Redis, a budget set on a tenant that had none) adds it back and misses nothing. Seeding
waits for the usage queue's flush lock, so a batch being written is never counted twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store

from . import ledger

UNIT = Decimal("0.00000001")
_TTL = 40 * 86_400  # past the end of the month
SEED_LOCK_WAIT_SECONDS = 1.0

# Drop expired holds; grant min(desired, what the USD cap allows, what the token cap allows)
# output tokens; refuse below the minimum; hold prompt + grant. Returns {granted, units, tokens}.
_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, member in ipairs(expired) do
  local _, _, units, tokens = string.find(member, '|(%d+)|(%d+)$')
  redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(units))
  redis.call('HINCRBY', KEYS[1], 'reserved_tokens', 0 - tonumber(tokens))
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local state = redis.call('HMGET', KEYS[1], 'spent', 'spent_tokens', 'reserved', 'reserved_tokens')
local prompt_units, prompt_tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
local per_token, desired, minimum = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cap_units, cap_tokens = tonumber(ARGV[7]), tonumber(ARGV[8])
local granted = desired
if cap_units >= 0 then
  local left = cap_units - tonumber(state[1]) - tonumber(state[3]) - prompt_units
  if left < 0 then return {0, 0, 0} end
  if per_token > 0 then granted = math.min(granted, math.floor(left / per_token)) end
end
if cap_tokens >= 0 then
  granted = math.min(granted, cap_tokens - tonumber(state[2]) - tonumber(state[4]) - prompt_tokens)
end
if granted < minimum then return {0, 0, 0} end
local units = prompt_units + math.ceil(granted * per_token)
local tokens = prompt_tokens + granted
redis.call('HINCRBY', KEYS[1], 'reserved', units)
redis.call('HINCRBY', KEYS[1], 'reserved_tokens', tokens)
redis.call('ZADD', KEYS[2], tonumber(ARGV[10]), ARGV[9] .. '|' .. units .. '|' .. tokens)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[11]))
return {1, granted, units}
"""

# Seed a missing budget hash: spent = the database ledger + what is still queued for it;
# reserved = the holds still in flight (the sorted set may have outlived the hash).
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local queued = redis.call('HMGET', KEYS[3], 'units', 'tokens')
local reserved, reserved_tokens = 0, 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[3], '+inf')) do
  local _, _, units, tokens = string.find(member, '|(%d+)|(%d+)$')
  reserved, reserved_tokens = reserved + tonumber(units), reserved_tokens + tonumber(tokens)
end
redis.call('HSET', KEYS[1], 'spent', tonumber(ARGV[1]) + tonumber(queued[1] or '0'),
  'spent_tokens', tonumber(ARGV[2]) + tonumber(queued[2] or '0'),
  'reserved', reserved, 'reserved_tokens', reserved_tokens)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
"""

# Settle one request: release its hold, count what it spent (in the hash when it exists, and
# always as unflushed spend), queue its usage record durably.
_SETTLE = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(ARGV[2]))
  redis.call('HINCRBY', KEYS[1], 'reserved_tokens', 0 - tonumber(ARGV[3]))
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'spent', tonumber(ARGV[4]))
  redis.call('HINCRBY', KEYS[1], 'spent_tokens', tonumber(ARGV[5]))
end
redis.call('HINCRBY', KEYS[3], 'units', tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], 'tokens', tonumber(ARGV[5]))
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[7]))
redis.call('RPUSH', KEYS[4], ARGV[6])
return 1
"""


def units(amount: Decimal) -> int:
    return int((amount / UNIT).to_integral_value())


def period_of(now: float) -> dt.date:
    return ledger.month_start(dt.datetime.fromtimestamp(now, dt.UTC))


@dataclass(frozen=True, slots=True)
class Ask:
    """What a request asks to hold: its prompt at the route's highest input price, and up to
    `desired_output` tokens at the route's highest output price, but no fewer than `min_output`."""

    request_id: str
    prompt_tokens: int
    prompt_usd: Decimal
    usd_per_output_token: Decimal
    desired_output: int
    min_output: int


@dataclass(frozen=True, slots=True)
class Hold:
    tenant_id: int
    period: dt.date
    member: str  # "request_id|units|tokens"
    units: int
    tokens: int
    output_tokens: int  # the output cap the hold pays for: the max_tokens sent upstream


def _keys(tenant_id: int, period: dt.date) -> list[str]:
    base = f"budget:{tenant_id}:{period:%Y%m}"
    return [base, f"{base}:holds", f"{base}:unflushed"]


def unflushed_key(tenant_id: int, period: dt.date) -> str:
    return _keys(tenant_id, period)[2]


def _hold_seconds() -> float:
    return settings.GATEWAY_TOTAL_TIMEOUT_SECONDS + 300


def _per_token_units(ask: Ask) -> float:
    return float(ask.usd_per_output_token / UNIT)


def _cap_args(caps: ledger.Caps) -> tuple[int, int]:
    return (units(caps.usd) if caps.usd is not None else -1, caps.tokens if caps.tokens is not None else -1)


class RedisHolds:
    def __init__(self, store: RedisHotStore) -> None:
        self.store = store

    async def reserve(self, tenant_id: int, ask: Ask, caps: ledger.Caps, now: float) -> Hold | None:
        period = period_of(now)
        keys = _keys(tenant_id, period)
        cap_units, cap_tokens = _cap_args(caps)
        args = [
            now, units(ask.prompt_usd), ask.prompt_tokens, _per_token_units(ask), ask.desired_output, ask.min_output,
            cap_units, cap_tokens, ask.request_id, now + _hold_seconds(), _TTL,
        ]  # fmt: skip
        result = await self.store.run_script(_RESERVE, keys, args)
        if result[0] == -1:
            await self._seed(tenant_id, period, now)
            result = await self.store.run_script(_RESERVE, keys, args)
        allowed, granted, held = result
        if allowed != 1:
            return None
        tokens = ask.prompt_tokens + granted
        return Hold(tenant_id, period, f"{ask.request_id}|{held}|{tokens}", held, tokens, granted)

    async def _seed(self, tenant_id: int, period: dt.date, now: float) -> None:
        """From the database ledger, while no batch of usage records is being written (the flush
        lock), so the ledger and the unflushed spend never both count one record."""
        from .recorder import queue  # the usage queue owns the flush lock

        connection, lock, token = self.store.connection, self.store.prefix + queue.lock, uuid.uuid4().hex
        deadline = time.monotonic() + SEED_LOCK_WAIT_SECONDS
        locked = False
        while not (locked := await connection.execute("SET", lock, token, "NX", "EX", 30) == "OK"):
            if time.monotonic() > deadline:  # a stuck flusher: seed anyway (at worst over-counting one batch)
                break
            await asyncio.sleep(0.01)
        try:
            spent, spent_tokens = await sync_to_async(_spent_in_database)(tenant_id, period)
            await self.store.run_script(_SEED, _keys(tenant_id, period), [spent, spent_tokens, now, _TTL])
        finally:
            if locked and await connection.execute("GET", lock) == token:
                await connection.execute("DEL", lock)

    async def settle(self, hold: Hold | None, tenant_id: int, period: dt.date, cost: int, tokens: int, record) -> None:
        from .recorder import encode, queue

        keys = [*_keys(tenant_id, period), queue.key]
        member = hold.member if hold else ""
        args = [member, hold.units if hold else 0, hold.tokens if hold else 0, cost, tokens, encode(record), _TTL]
        await self.store.run_script(_SETTLE, keys, args)
        queue.ensure_flusher()

    async def state(self, tenant_id: int, period: dt.date) -> dict[str, int]:
        budget, holds, unflushed = (self.store.prefix + key for key in _keys(tenant_id, period))
        spent, spent_tokens = await self.store.connection.execute("HMGET", budget, "spent", "spent_tokens")
        queued = await self.store.connection.execute("HGET", unflushed, "units")
        count = await self.store.connection.execute("ZCARD", holds)
        return {"spent": int(spent or 0), "spent_tokens": int(spent_tokens or 0), "holds": count,
                "unflushed": int(queued or 0)}  # fmt: skip


class MemoryHolds:
    """The same counters in process memory, for the embedded default. Records are written to the
    database at once; until the write commits, their spend counts as unflushed."""

    def __init__(self, store: MemoryHotStore) -> None:
        self.budgets: dict[tuple[int, dt.date], dict] = {}
        self.unflushed: defaultdict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0])
        self.lock = threading.Lock()  # the counters; held only for arithmetic, on the event loop
        self.ledger_lock = threading.Lock()  # seeding and writing records, on worker threads

    async def reserve(self, tenant_id: int, ask: Ask, caps: ledger.Caps, now: float) -> Hold | None:
        period = period_of(now)
        if (tenant_id, period) not in self.budgets:
            await sync_to_async(self._seed)(tenant_id, period)
        cap_units, cap_tokens = _cap_args(caps)
        per_token = _per_token_units(ask)
        prompt_units = units(ask.prompt_usd)
        with self.lock:
            state = self.budgets[(tenant_id, period)]
            state["holds"] = {m: h for m, h in state["holds"].items() if h[0] > now}
            reserved = sum(h[1] for h in state["holds"].values())
            reserved_tokens = sum(h[2] for h in state["holds"].values())
            granted = ask.desired_output
            if cap_units >= 0:
                left = cap_units - state["spent"] - reserved - prompt_units
                if left < 0:
                    return None
                if per_token > 0:
                    granted = min(granted, math.floor(left / per_token))
            if cap_tokens >= 0:
                granted = min(granted, cap_tokens - state["spent_tokens"] - reserved_tokens - ask.prompt_tokens)
            if granted < ask.min_output:
                return None
            held, tokens = prompt_units + math.ceil(granted * per_token), ask.prompt_tokens + granted
            member = f"{ask.request_id}|{held}|{tokens}"
            state["holds"][member] = (now + _hold_seconds(), held, tokens)
        return Hold(tenant_id, period, member, held, tokens, granted)

    def _seed(self, tenant_id: int, period: dt.date) -> None:
        with self.ledger_lock:
            spent, spent_tokens = _spent_in_database(tenant_id, period)
            with self.lock:
                queued = self.unflushed[(tenant_id, period)]
                fresh = {"spent": spent + queued[0], "spent_tokens": spent_tokens + queued[1], "holds": {}}
                self.budgets.setdefault((tenant_id, period), fresh)

    async def settle(self, hold: Hold | None, tenant_id: int, period: dt.date, cost: int, tokens: int, record) -> None:
        key = (tenant_id, period)
        with self.lock:
            state = self.budgets.get(key)
            if state is not None:
                if hold is not None:
                    state["holds"].pop(hold.member, None)
                state["spent"] += cost
                state["spent_tokens"] += tokens
            self.unflushed[key][0] += cost
            self.unflushed[key][1] += tokens
        await sync_to_async(self._write)(key, cost, tokens, record)

    def _write(self, key: tuple[int, dt.date], cost: int, tokens: int, record: dict) -> None:
        with self.ledger_lock:  # a seed reads the ledger before this commits or after it is unflushed
            try:
                ledger.write_batch([record])
            finally:
                with self.lock:
                    self.unflushed[key][0] -= cost
                    self.unflushed[key][1] -= tokens

    async def state(self, tenant_id: int, period: dt.date) -> dict[str, int]:
        entry = self.budgets.get((tenant_id, period), {"spent": 0, "spent_tokens": 0, "holds": {}})
        return {"spent": entry["spent"], "spent_tokens": entry["spent_tokens"], "holds": len(entry["holds"]),
                "unflushed": self.unflushed[(tenant_id, period)][0]}  # fmt: skip


_holds = per_store(redis=RedisHolds, memory=MemoryHolds)


def _spent_in_database(tenant_id: int, period: dt.date) -> tuple[int, int]:
    budget = ledger.budget_for(tenant_id, period)
    return units(budget.spent_usd), budget.spent_tokens


async def reserve(*, tenant_id: int, ask: Ask, caps: ledger.Caps, now: float | None = None) -> Hold | None:
    """Hold the prompt and the output cap the budget allows against this month; None when not even
    `ask.min_output` tokens fit under a cap."""
    return await _holds().reserve(tenant_id, ask, caps, time.time() if now is None else now)


async def settle(*, tenant_id: int, period: dt.date, hold: Hold | None, cost_usd: Decimal, tokens: int, record: dict):
    """Release the hold, count the spend and store the usage record (queued in Redis, or written)."""
    await _holds().settle(hold, tenant_id, period, units(cost_usd), tokens, record)


async def state(tenant_id: int, period: dt.date) -> dict[str, int]:
    """The counters as the hot store holds them (tests and diagnostics)."""
    return await _holds().state(tenant_id, period)
