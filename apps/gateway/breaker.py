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

from apps.core.hotstore import MemoryHotStore, RedisHotStore, hot_store

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


class _MemoryBreakers:
    """The same state machine in process memory, for the embedded default."""

    def __init__(self) -> None:
        self._states: dict[str, dict] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float, cooldown: float) -> Decision:
        with self._lock:
            entry = self._states.get(key)
            if entry is None or entry["state"] == "closed":
                return Decision(CLOSED, entry["failures"] if entry else 0)
            if now - entry["since"] >= cooldown:
                entry.update(state="half_open", since=now)
                return Decision(PROBE)
            return Decision(OPEN)

    def failure(self, key: str, now: float, threshold: int) -> str:
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

    def success(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)


_memory = _MemoryBreakers()


def _entry(model_name: str) -> str:
    return f"breaker:{model_name}"


async def allow(model_name: str, now: float | None = None) -> Decision:
    now = time.time() if now is None else now
    cooldown = settings.BREAKER_COOLDOWN_SECONDS
    store = hot_store()
    if isinstance(store, RedisHotStore):
        state, failures = await store.run_script(_ALLOW, [_entry(model_name)], [now, cooldown])
        return Decision(state, int(failures))
    assert isinstance(store, MemoryHotStore)
    return _memory.allow(store.prefix + _entry(model_name), now, cooldown)


async def record_failure(model_name: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    threshold = settings.BREAKER_FAILURE_THRESHOLD
    store = hot_store()
    if isinstance(store, RedisHotStore):
        return await store.run_script(_FAILURE, [_entry(model_name)], [now, threshold, _TTL])
    return _memory.failure(store.prefix + _entry(model_name), now, threshold)


async def record_success(model_name: str, decision: Decision) -> None:
    """Close the breaker; free when it was closed with no failures counted (the common case)."""
    if decision.state == CLOSED and decision.failures == 0:
        return
    store = hot_store()
    if isinstance(store, RedisHotStore):
        await store.delete(_entry(model_name))
    else:
        _memory.success(store.prefix + _entry(model_name))


async def state_of(model_name: str) -> str:
    """closed, open or half_open, as every instance sees it (for metrics)."""
    store = hot_store()
    if isinstance(store, RedisHotStore):
        state = await store.connection.execute("HGET", store.prefix + _entry(model_name), "state")
    else:
        state = (_memory._states.get(store.prefix + _entry(model_name)) or {}).get("state")
    return state or CLOSED


def reset_memory_breakers() -> None:
    _memory._states.clear()
