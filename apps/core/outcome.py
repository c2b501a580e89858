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


REFUSALS = frozenset({Outcome.RATE_LIMITED, Outcome.TOO_MANY_STREAMS, Outcome.BUDGET_EXHAUSTED})
