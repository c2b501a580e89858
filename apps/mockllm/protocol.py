"""What an endpoint gives the request pipeline: a planned answer it can render whole or as SSE frames."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class InvalidRequest(ValueError):
    """A request body the real provider would reject with a 400; `param` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Frames:
    """A stream: `head` goes out with the first unit, each unit is one token, `tail` ends a complete stream."""

    head: bytes
    units: Iterable[bytes]
    tail: bytes


def split_frames(frames: Iterable[tuple[bytes, bool]]) -> Frames:
    """A stream from all its frames in order, each flagged when it carries one token (a unit).

    The frames before the first token are the head, the ones between two tokens ride with the later one (several
    tool calls: one call's end and the next one's start), and the ones after the last token are the tail.
    """
    head: bytes | None = None
    units: list[bytes] = []
    pending = b""
    for frame, token in frames:
        if not token:
            pending += frame
        elif head is None:
            head, pending = pending, b""
            units.append(frame)
        else:
            units.append(pending + frame)
            pending = b""
    return Frames(pending, (), b"") if head is None else Frames(head, units, pending)


class Answer(Protocol):
    """A planned answer; building it must be cheap, rendering happens only once the behaviour allows it."""

    prompt_tokens: int
    planned_tokens: int

    def body(self) -> bytes: ...

    def frames(self) -> Frames: ...


def dumps(payload: object) -> bytes:
    """Compact JSON bytes, as providers send them."""
    return json.dumps(payload, separators=(",", ":")).encode()


def data_frame(payload: object) -> bytes:
    """An OpenAI-style SSE frame: `data: <json>` and a blank line."""
    return b"data: " + dumps(payload) + b"\n\n"


def event_frame(event: str, payload: object) -> bytes:
    """An Anthropic-style SSE frame: `event: <type>`, `data: <json>` and a blank line."""
    return b"event: " + event.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def require_str(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{key}' is required and must be a non-empty string", key)
    return value


def optional_limit(body: dict, *keys: str) -> int | None:
    """The first present token limit among `keys`, validated as a positive integer."""
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"'{key}' must be a positive integer", key)
        return value
    return None
