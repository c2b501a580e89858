"""What a pipeline stage is (apps/gateway/pipeline.py runs them; each domain defines its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Stage:
    """`enter` runs before the answer and may refuse (raise an ApiError) or answer (set the request's
    events); `relay` wraps the answer's events on their way out; `leave` runs once the request has
    ended, whatever its outcome, and may return work to run after the response. A stage whose
    `enter` was never reached does not `leave`, unless it has no `enter` (an observer)."""

    name: str
    enter: Callable[[Any], Awaitable[None]] | None = None
    relay: Callable[[Any, AsyncIterator[Any]], AsyncIterator[Any]] | None = None
    leave: Callable[[Any], Awaitable[None] | None] | None = None
    # When a later stage's `enter` refuses, an earlier stage may answer instead (the cache's stale
    # entry when every provider failed): it sets the request's events and returns True.
    rescue: Callable[[Any, Any], Awaitable[bool]] | None = None
    span: bool = True  # trace `enter` as a span named after the stage (a stage may trace itself instead)
