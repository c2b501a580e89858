"""A circuit breaker per provider model, shared by every instance through the hot store.

closed: traffic flows; consecutive failures are counted and any success resets the count.
open: after `threshold` consecutive failures no traffic is sent until `cooldown` has passed.
half-open: after the cool-down exactly one request (the probe) goes through; its success closes
the breaker, its failure opens it for another cool-down. A probe that never reports back is
replaced after one more cool-down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store

CLOSED, OPEN, PROBE = "closed", "open", "probe"
_TTL = 86_400

_ALLOW = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'closed', 0} end
local now, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2])
if state == 'closed' then return {'closed', tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')} end
local since = tonumber(redis.call('HGET', KEYS[1], 'since'))
if now - since >= cooldown then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'since', ARGV[1])
  return {'probe', 0}
end
return {'open', 0}
"""

_FAILURE = """
local state = redis.call('HGET', KEYS[1], 'state')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if state == 'half_open' or state == 'open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'since', ARGV[1])
  return 'open'
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'since', ARGV[1])
  return 'open'
end
redis.call('HSET', KEYS[1], 'state', 'closed')
return 'closed'
"""


@dataclass(frozen=True, slots=True)
class Decision:
    state: str  # closed | probe | open
    failures: int = 0

    @property
    def allowed(self) -> bool:
        return self.state != OPEN


class MemoryBreakers:
    """The same state machine in process memory, for the embedded default."""

    def __init__(self, store: MemoryHotStore) -> None:
        self._states: dict[str, dict] = {}
        self._lock = threading.Lock()

    async def allow(self, key: str, now: float, cooldown: float) -> Decision:
        with self._lock:
            entry = self._states.get(key)
            if entry is None or entry["state"] == "closed":
                return Decision(CLOSED, entry["failures"] if entry else 0)
            if now - entry["since"] >= cooldown:
                entry.update(state="half_open", since=now)
                return Decision(PROBE)
            return Decision(OPEN)

    async def failure(self, key: str, now: float, threshold: int) -> str:
        with self._lock:
            entry = self._states.setdefault(key, {"state": "closed", "failures": 0, "since": now})
            if entry["state"] in ("half_open", "open"):
                entry.update(state="open", since=now)
                return OPEN
            entry["failures"] += 1
            if entry["failures"] >= threshold:
                entry.update(state="open", since=now)
                return OPEN
            return CLOSED

    async def success(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    async def state(self, key: str) -> str | None:
        return (self._states.get(key) or {}).get("state")


class RedisBreakers:
    def __init__(self, store: RedisHotStore) -> None:
        self.store = store

    async def allow(self, key: str, now: float, cooldown: float) -> Decision:
        state, failures = await self.store.run_script(_ALLOW, [_entry(key)], [now, cooldown])
        return Decision(state, int(failures))

    async def failure(self, key: str, now: float, threshold: int) -> str:
        return await self.store.run_script(_FAILURE, [_entry(key)], [now, threshold, _TTL])

    async def success(self, key: str) -> None:
        await self.store.delete(_entry(key))

    async def state(self, key: str) -> str | None:
        return await self.store.connection.execute("HGET", self.store.prefix + _entry(key), "state")


_breakers = per_store(redis=RedisBreakers, memory=MemoryBreakers)


def _entry(key: str) -> str:
    return f"breaker:{key}"


async def allow(key: str, now: float | None = None) -> Decision:
    """May a request go to the model behind `key` (provider/upstream model)? A probe when half-open."""
    return await _breakers().allow(key, time.time() if now is None else now, settings.BREAKER_COOLDOWN_SECONDS)


async def record_failure(key: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    return await _breakers().failure(key, now, settings.BREAKER_FAILURE_THRESHOLD)


async def record_success(key: str, decision: Decision) -> None:
    """Close the breaker; free when it was closed with no failures counted (the common case)."""
    if decision.state == CLOSED and decision.failures == 0:
        return
    await _breakers().success(key)


async def state_of(key: str) -> str:
    """closed, open or half_open, as every instance sees it (for metrics), by breaker key."""
    return await _breakers().state(key) or CLOSED
