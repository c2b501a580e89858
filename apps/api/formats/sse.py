"""The one server-sent-events writer: every streaming format frames its events with these."""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"


def data(payload: dict[str, Any]) -> bytes:
    """A `data:` event (OpenAI chunks, /v1/generate frames)."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def event(kind: str, payload: dict[str, Any]) -> bytes:
    """A named event whose data repeats its type (Anthropic's stream)."""
    body = json.dumps({"type": kind, **payload}, separators=(",", ":")).encode()
    return b"event: " + kind.encode() + b"\ndata: " + body + b"\n\n"
