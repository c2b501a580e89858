"""How a request ended, as usage records, audit entries, log lines and metrics name it."""

from enum import StrEnum


class Outcome(StrEnum):
    PENDING = "pending"  # still running
    OK = "ok"
    INVALID = "invalid"  # refused against the catalogue (no such model, too long): answered, not recorded
    RATE_LIMITED = "rate_limited"
    TOO_MANY_STREAMS = "too_many_concurrent_streams"
    BUDGET_EXHAUSTED = "budget_exhausted"
    FAILED = "failed"  # no provider answered
    FAILED_MIDSTREAM = "failed_midstream"  # the stream broke off after its first event
    CANCELLED = "cancelled"  # the caller left or cancelled
    BLOCKED = "guardrail_blocked"  # a guardrail refused the input: recorded (audit, metrics), nothing sent


REFUSALS = frozenset({Outcome.RATE_LIMITED, Outcome.TOO_MANY_STREAMS, Outcome.BUDGET_EXHAUSTED})


class CacheStatus(StrEnum):
    """What the cache did for a request (the X-Catalyst-Cache header and the chat `done` frame)."""

    HIT = "HIT"  # an exact entry, fresh
    SEMANTIC = "SEMANTIC"  # a similar enough question's entry, fresh
    MISS = "MISS"  # looked up, nothing to serve: the provider answered (and the answer is stored)
    BYPASS = "BYPASS"  # not looked up: policy off, no-store, or not reusable
    STALE = "STALE"  # an expired entry, because every provider in the chain failed

    @property
    def replayed(self) -> bool:
        return self in (CacheStatus.HIT, CacheStatus.SEMANTIC, CacheStatus.STALE)
