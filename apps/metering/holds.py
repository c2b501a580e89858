"""Budget holds in the hot store: the request-path half of the budget ledger.

Per tenant and month a hash keeps `spent` and `reserved` (USD in units of 1e-8, and tokens) and
a sorted set keeps each in-flight request's hold, scored by its expiry. A reservation is one Lua
round trip that drops expired holds, checks spent + reserved + estimate against the caps and
adds the hold, atomically. The hash is seeded from the database ledger when missing (a new
month, a flushed or restarted Redis), so the database stays the record of what was spent;
holds of crashed requests simply expire.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.hotstore import RedisHotStore, hot_store

from . import ledger

UNIT = Decimal("0.00000001")

_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, member in ipairs(expired) do
  local _, _, units, tokens = string.find(member, '|(%d+)|(%d+)$')
  redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(units))
  redis.call('HINCRBY', KEYS[1], 'reserved_tokens', 0 - tonumber(tokens))
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local state = redis.call('HMGET', KEYS[1], 'spent', 'spent_tokens', 'reserved', 'reserved_tokens')
local units, tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
local cap_units, cap_tokens = tonumber(ARGV[4]), tonumber(ARGV[5])
if cap_units >= 0 and tonumber(state[1]) + tonumber(state[3]) + units > cap_units then return 0 end
if cap_tokens >= 0 and tonumber(state[2]) + tonumber(state[4]) + tokens > cap_tokens then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', units)
redis.call('HINCRBY', KEYS[1], 'reserved_tokens', tokens)
redis.call('ZADD', KEYS[2], tonumber(ARGV[7]), ARGV[6])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[8]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
return 1
"""

_SEED = """
redis.call('HSETNX', KEYS[1], 'spent', ARGV[1])
redis.call('HSETNX', KEYS[1], 'spent_tokens', ARGV[2])
redis.call('HSETNX', KEYS[1], 'reserved', 0)
redis.call('HSETNX', KEYS[1], 'reserved_tokens', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# Settle one request: release its hold, count what it spent, queue its usage record durably.
_SETTLE = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(ARGV[2]))
  redis.call('HINCRBY', KEYS[1], 'reserved_tokens', 0 - tonumber(ARGV[3]))
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'spent', tonumber(ARGV[4]))
  redis.call('HINCRBY', KEYS[1], 'spent_tokens', tonumber(ARGV[5]))
end
redis.call('RPUSH', KEYS[3], ARGV[6])
return 1
"""

_TTL = 40 * 86_400  # past the end of the month


def units(amount: Decimal) -> int:
    return int((amount / UNIT).to_integral_value())


@dataclass(frozen=True, slots=True)
class Hold:
    tenant_id: int
    period: dt.date
    member: str  # "request_id|units|tokens"
    units: int
    tokens: int


def _keys(tenant_id: int, period: dt.date) -> list[str]:
    base = f"budget:{tenant_id}:{period:%Y%m}"
    return [base, f"{base}:holds"]


def _hold_seconds() -> float:
    return settings.GATEWAY_TOTAL_TIMEOUT_SECONDS + 300


class _MemoryHolds:
    """The same counters in process memory, for the embedded default."""

    def __init__(self) -> None:
        self.budgets: dict[tuple[int, dt.date], dict] = {}
        self.lock = threading.Lock()

    def reserve(self, hold: Hold, caps: ledger.Caps, now: float, seed: tuple[int, int]) -> bool:
        with self.lock:
            state = self.budgets.setdefault(
                (hold.tenant_id, hold.period), {"spent": seed[0], "spent_tokens": seed[1], "holds": {}}
            )
            state["holds"] = {m: h for m, h in state["holds"].items() if h[0] > now}
            reserved = sum(h[1] for h in state["holds"].values())
            reserved_tokens = sum(h[2] for h in state["holds"].values())
            if caps.usd is not None and state["spent"] + reserved + hold.units > units(caps.usd):
                return False
            if caps.tokens is not None and state["spent_tokens"] + reserved_tokens + hold.tokens > caps.tokens:
                return False
            state["holds"][hold.member] = (now + _hold_seconds(), hold.units, hold.tokens)
            return True

    def settle(self, tenant_id: int, period: dt.date, member: str | None, spent: int, tokens: int) -> None:
        with self.lock:
            state = self.budgets.get((tenant_id, period))
            if state is None:
                return
            if member:
                state["holds"].pop(member, None)
            state["spent"] += spent
            state["spent_tokens"] += tokens


_memory = _MemoryHolds()


def _seed_from_database(tenant_id: int, period: dt.date) -> tuple[int, int]:
    budget = ledger.budget_for(tenant_id, period)
    return units(budget.spent_usd), budget.spent_tokens


async def reserve(
    *, tenant_id: int, request_id: str, amount_usd: Decimal, tokens: int, caps: ledger.Caps, now: float | None = None
) -> Hold | None:
    """Hold an estimate against this month's budget; None when it would pass a cap."""
    now = time.time() if now is None else now
    period = ledger.month_start(dt.datetime.fromtimestamp(now, dt.UTC))
    hold = Hold(tenant_id, period, f"{request_id}|{units(amount_usd)}|{tokens}", units(amount_usd), tokens)
    store = hot_store()
    if not isinstance(store, RedisHotStore):
        seed = await sync_to_async(_seed_from_database)(tenant_id, period)
        return hold if _memory.reserve(hold, caps, now, seed) else None
    keys = _keys(tenant_id, period)
    args = [
        now, hold.units, tokens, units(caps.usd) if caps.usd is not None else -1,
        caps.tokens if caps.tokens is not None else -1, hold.member, now + _hold_seconds(), _TTL,
    ]  # fmt: skip
    result = await store.run_script(_RESERVE, keys, args)
    if result == -1:
        spent, spent_tokens = await sync_to_async(_seed_from_database)(tenant_id, period)
        await store.run_script(_SEED, keys[:1], [spent, spent_tokens, _TTL])
        result = await store.run_script(_RESERVE, keys, args)
    return hold if result == 1 else None


async def settle(
    *, tenant_id: int, period: dt.date, hold: Hold | None, cost_usd: Decimal, tokens: int, queued: str, queue_key: str
) -> bool:
    """Release the hold, count the spend, and queue the usage record (Redis); False without Redis."""
    store = hot_store()
    if not isinstance(store, RedisHotStore):
        _memory.settle(tenant_id, period, hold.member if hold else None, units(cost_usd), tokens)
        return False
    keys = [*_keys(tenant_id, period), queue_key]
    args = [
        hold.member if hold else "", hold.units if hold else 0, hold.tokens if hold else 0, units(cost_usd), tokens,
        queued,
    ]  # fmt: skip
    await store.run_script(_SETTLE, keys, args)
    return True


async def state(tenant_id: int, period: dt.date) -> dict[str, int]:
    """The counters as the hot store holds them (tests and diagnostics)."""
    store = hot_store()
    if not isinstance(store, RedisHotStore):
        entry = _memory.budgets.get((tenant_id, period), {"spent": 0, "spent_tokens": 0, "holds": {}})
        return {"spent": entry["spent"], "spent_tokens": entry["spent_tokens"], "holds": len(entry["holds"])}
    spent, spent_tokens = await store.connection.execute(
        "HMGET", store.prefix + _keys(tenant_id, period)[0], "spent", "spent_tokens"
    )
    holds = await store.connection.execute("ZCARD", store.prefix + _keys(tenant_id, period)[1])
    return {"spent": int(spent or 0), "spent_tokens": int(spent_tokens or 0), "holds": holds}


def reset_memory_holds() -> None:
    _memory.budgets.clear()
