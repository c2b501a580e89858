"""The record of served requests, so tests can prove what reached the provider and when it stopped.

Outcomes: "in_progress" (still being answered), "hung" (held open on purpose), then one final outcome:
"completed", "failed" (an error status was sent), "dropped" (the mock cut the connection on purpose) or
"abandoned" (the client went away first). API keys are never recorded, only whether one was accepted.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

FINAL_OUTCOMES = frozenset({"completed", "failed", "dropped", "abandoned"})


@dataclass(slots=True)
class Entry:
    """One request; `status` is the HTTP status sent, or 0 while (or if) no response head was sent."""

    seq: int
    endpoint: str
    request_id: str | None
    started_at: float
    model: str | None = None
    stream: bool = False
    authenticated: bool = False
    status: int = 0
    outcome: str = "in_progress"
    planned_tokens: int = 0
    tokens_sent: int = 0
    first_token_at: float | None = None
    ended_at: float | None = None
    prompt_tokens: int = 0
    body: dict | None = None  # the request as sent (tests prove what reached the provider); keys are headers

    def finish(self, outcome: str, status: int | None = None) -> None:
        """Set the final outcome once: a drop or a failure is not turned into "abandoned" by a late cancel."""
        if self.outcome in FINAL_OUTCOMES:
            return
        self.outcome = outcome
        if status is not None:
            self.status = status
        self.ended_at = time.time()

    def as_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "endpoint": self.endpoint,
            "model": self.model,
            "stream": self.stream,
            "request_id": self.request_id,
            "authenticated": self.authenticated,
            "status": self.status,
            "outcome": self.outcome,
            "planned_tokens": self.planned_tokens,
            "tokens_sent": self.tokens_sent,
            "started_at": self.started_at,
            "first_token_at": self.first_token_at,
            "ended_at": self.ended_at,
            "prompt_tokens": self.prompt_tokens,
            "body": self.body,
        }


class Record:
    """The last `limit` entries in arrival order; `seq` keeps counting across evictions, restarts at 1 on clear."""

    def __init__(self, limit: int) -> None:
        self._entries: deque[Entry] = deque(maxlen=max(1, limit))
        self._seq = 0

    def open(self, endpoint: str, request_id: str | None) -> Entry:
        self._seq += 1
        entry = Entry(seq=self._seq, endpoint=endpoint, request_id=request_id, started_at=time.time())
        self._entries.append(entry)
        return entry

    def snapshot(self, model: str | None = None) -> list[dict[str, object]]:
        return [entry.as_dict() for entry in self._entries if model is None or entry.model == model]

    def clear(self) -> None:
        self._entries.clear()
        self._seq = 0
