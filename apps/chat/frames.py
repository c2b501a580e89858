"""The chat protocol's server frames (SPEC "WebSocket /ws/chat/"), built in one place: the answer
task sends them, the consumer replays them, /v1/generate streams use the same vocabulary."""

from __future__ import annotations

from decimal import Decimal

from apps.core import money
from apps.core.errors import ApiError

Frame = dict


def token(client_id: str, text: str, offset: int) -> Frame:
    return {"type": "token", "id": client_id, "content": text, "offset": offset}


def done(
    client_id: str, conversation_id: int, model: str, tokens_in: int, tokens_out: int, cost_usd: Decimal,
    cached: str = "BYPASS", citations: list[dict] | None = None, steps: list[dict] | None = None,
    finish_reason: str | None = None,
) -> Frame:  # fmt: skip
    """`citations`: the sources of a grounded answer (a message that named vector stores); `steps` and
    `finish_reason`: an agent run's tool calls and how it ended (a message that named tools)."""
    frame = {
        "type": "done", "id": client_id, "conversation_id": conversation_id, "model": model,
        "usage": {"tokens_in": tokens_in, "tokens_out": tokens_out}, "cost_usd": money.usd(cost_usd), "cached": cached,
    }  # fmt: skip
    if citations is not None:
        frame["citations"] = citations
    if steps is not None:
        frame["steps"], frame["finish_reason"] = steps, finish_reason
    return frame


def cancelled(client_id: str) -> Frame:
    return {"type": "cancelled", "id": client_id}


def error(client_id: str | None, failure: ApiError) -> Frame:
    return failed(client_id, str(failure.code), failure.message, failure.headers.get("Retry-After"))


def failed(client_id: str | None, code: str, message: str, retry_after: str | None = None) -> Frame:
    return {
        "type": "error", "id": client_id, "code": code, "message": message,
        "retry_after": int(retry_after) if retry_after else None,
    }  # fmt: skip
