"""Token-bucket rate limits and concurrent-stream caps, decided atomically in one round trip.

Buckets per tenant (requests/minute, requests/hour, tokens/minute) and per key or user
(requests/minute, tokens/minute: the key's own caps, else the tenant's). A request is admitted
only if every bucket can pay; then all pay at once. Token buckets are charged an estimate at
admission and corrected by the real count afterwards (they may go into debt). Streams hold a
lease in a sorted set until they end; a crashed process's leases expire.

With Redis the decision is one Lua script; without it, the same arithmetic under a lock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store
from apps.tenancy.principal import Principal

_ADMIT = """
local now = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local wait, denied_by = 0, 0
local levels = {}
for i = 1, buckets do
  local base = 2 + (i - 1) * 3
  local cap, rate, cost = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(state[1])
  if tokens == nil then tokens = cap else tokens = math.min(cap, tokens + (now - tonumber(state[2])) * rate) end
  levels[i] = tokens
  if tokens < cost then
    local need = (cost - tokens) / rate
    if need > wait then wait, denied_by = need, i end
  end
end
local stream_cap = tonumber(ARGV[3 + buckets * 3])
if wait == 0 and stream_cap > 0 then
  local streams = KEYS[buckets + 1]
  redis.call('ZREMRANGEBYSCORE', streams, '-inf', now)
  if redis.call('ZCARD', streams) >= stream_cap then
    return {0, '1', tostring(buckets + 1)}
  end
  redis.call('ZADD', streams, now + tonumber(ARGV[5 + buckets * 3]), ARGV[4 + buckets * 3])
  redis.call('EXPIRE', streams, math.ceil(tonumber(ARGV[5 + buckets * 3])) + 60)
end
if wait > 0 then
  local out = {0, tostring(wait), tostring(denied_by)}
  for i = 1, buckets do out[#out + 1] = tostring(levels[i]) end
  return out
end
local out = {1, '0', '0'}
for i = 1, buckets do
  local base = 2 + (i - 1) * 3
  local cap, rate, cost = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local left = levels[i] - cost
  redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'ts', ARGV[1])
  redis.call('EXPIRE', KEYS[i], math.ceil(cap / rate) + 60)
  out[#out + 1] = tostring(left)
end
return out
"""

_CHARGE = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 3
  local cap, rate, amount = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(state[1])
  if tokens == nil then tokens = cap else tokens = math.min(cap, tokens + (now - tonumber(state[2])) * rate) end
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens - amount), 'ts', ARGV[1])
  redis.call('EXPIRE', KEYS[i], math.ceil(cap / rate) + 60)
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    name: str  # what the client is told: "requests/minute", "tokens/minute", ...
    capacity: float
    rate: float  # refill per second
    cost: float
    is_tokens: bool = False


@dataclass(slots=True)
class Decision:
    allowed: bool
    retry_after: float
    buckets: list[Bucket]
    levels: list[float] = field(default_factory=list)
    denied: str | None = None

    def headers(self) -> dict[str, str]:
        """IETF RateLimit-* fields for the tightest bucket, and Retry-After when refused."""
        if not self.buckets:
            return {}
        pairs = list(zip(self.buckets, self.levels or [b.capacity for b in self.buckets], strict=False))
        bucket, level = min(pairs, key=lambda p: p[1] / p[0].capacity)
        remaining = max(int(level), 0)
        reset = math.ceil(max(bucket.capacity - level, 0) / bucket.rate)
        headers = {
            "RateLimit-Limit": str(int(bucket.capacity)),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f'"{bucket.name}";q={int(bucket.capacity)};w={int(bucket.capacity / bucket.rate)}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(math.ceil(self.retry_after), 1))
        return headers


def buckets_for(principal: Principal, token_cost: int) -> list[Bucket]:
    limits = principal.limits
    tenant = f"rl:{principal.tenant_id}"
    own = f"{tenant}:{'k' if principal.key_id else 'u'}{principal.key_id or principal.user_id}"
    buckets = [
        Bucket(
            f"{tenant}:rpm", "tenant requests/minute", limits.requests_per_minute, limits.requests_per_minute / 60, 1
        )
    ]
    if limits.requests_per_hour:
        rph = limits.requests_per_hour
        buckets.append(Bucket(f"{tenant}:rph", "tenant requests/hour", rph, rph / 3600, 1))
    if limits.tokens_per_minute:
        tpm = limits.tokens_per_minute
        buckets.append(Bucket(f"{tenant}:tpm", "tenant tokens/minute", tpm, tpm / 60, min(token_cost, tpm), True))
    own_rpm = limits.own_requests_per_minute or limits.requests_per_minute
    buckets.append(Bucket(f"{own}:rpm", "key requests/minute", own_rpm, own_rpm / 60, 1))
    own_tpm = limits.own_tokens_per_minute or limits.tokens_per_minute
    if own_tpm:
        buckets.append(Bucket(f"{own}:tpm", "key tokens/minute", own_tpm, own_tpm / 60, min(token_cost, own_tpm), True))
    return buckets


def _stream_key(principal: Principal) -> str:
    return f"rl:{principal.tenant_id}:streams"


def _lease_seconds() -> float:
    return settings.GATEWAY_TOTAL_TIMEOUT_SECONDS + 300


class MemoryLimiter:
    """The same decisions in process memory, for the embedded default."""

    def __init__(self, store: MemoryHotStore) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._streams: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, bucket: Bucket, now: float) -> float:
        state = self._buckets.get(key)
        if state is None:
            return bucket.capacity
        tokens, ts = state
        return min(bucket.capacity, tokens + (now - ts) * bucket.rate)

    async def admit(self, principal: Principal, buckets: list[Bucket], now: float, lease: str | None) -> Decision:
        with self._lock:
            levels = [self._level(b.key, b, now) for b in buckets]
            waits = [
                ((b.cost - level) / b.rate, b.name) for b, level in zip(buckets, levels, strict=True) if level < b.cost
            ]
            if waits:
                wait, name = max(waits)
                return Decision(False, wait, buckets, levels, name)
            if lease is not None:
                key, cap = _stream_key(principal), principal.limits.concurrent_streams
                leases = {rid: until for rid, until in self._streams.get(key, {}).items() if until > now}
                if len(leases) >= cap:
                    return Decision(False, 1.0, buckets, levels, "concurrent streams")
                leases[lease] = now + _lease_seconds()
                self._streams[key] = leases
            left = [level - b.cost for b, level in zip(buckets, levels, strict=True)]
            for b, level in zip(buckets, left, strict=True):
                self._buckets[b.key] = (level, now)
            return Decision(True, 0.0, buckets, left)

    async def settle(self, principal: Principal, corrections: list[tuple[Bucket, float]], now: float,
                     lease: str | None) -> None:  # fmt: skip
        with self._lock:
            for bucket, amount in corrections:
                self._buckets[bucket.key] = (self._level(bucket.key, bucket, now) - amount, now)
            if lease is not None:
                self._streams.get(_stream_key(principal), {}).pop(lease, None)


class RedisLimiter:
    def __init__(self, store: RedisHotStore) -> None:
        self.store = store

    async def admit(self, principal: Principal, buckets: list[Bucket], now: float, lease: str | None) -> Decision:
        args: list = [now, len(buckets)]
        for b in buckets:
            args += [b.capacity, b.rate, b.cost]
        args += [principal.limits.concurrent_streams if lease else 0, lease or "", _lease_seconds()]
        keys = [b.key for b in buckets] + [_stream_key(principal)]
        allowed, wait, denied_index, *levels = await self.store.run_script(_ADMIT, keys, args)
        denied = None
        if not allowed:
            index = int(denied_index)
            denied = "concurrent streams" if index == len(buckets) + 1 else buckets[index - 1].name
        return Decision(bool(allowed), float(wait), buckets, [float(v) for v in levels], denied)

    async def settle(self, principal: Principal, corrections: list[tuple[Bucket, float]], now: float,
                     lease: str | None) -> None:  # fmt: skip
        if corrections:
            args: list = [now]
            for bucket, amount in corrections:
                args += [bucket.capacity, bucket.rate, amount]
            await self.store.run_script(_CHARGE, [bucket.key for bucket, _ in corrections], args)
        if lease is not None:
            await self.store.connection.execute("ZREM", self.store.prefix + _stream_key(principal), lease)


_limiter = per_store(redis=RedisLimiter, memory=MemoryLimiter)


async def admit(
    principal: Principal, *, token_cost: int, request_id: str, stream: bool, now: float | None = None
) -> Decision:
    """Admit a request if every bucket can pay (a stream also needs a free lease), or say when to retry."""
    now = time.time() if now is None else now
    return await _limiter().admit(principal, buckets_for(principal, token_cost), now, request_id if stream else None)


async def settle(
    principal: Principal, decision: Decision, *, actual_tokens: int, request_id: str, stream: bool,
    now: float | None = None,
) -> None:  # fmt: skip
    """Correct the token buckets by what the request really used; free its stream lease."""
    now = time.time() if now is None else now
    corrections = [(b, actual_tokens - b.cost) for b in decision.buckets if b.is_tokens and actual_tokens != b.cost]
    await _limiter().settle(principal, corrections, now, request_id if stream else None)
