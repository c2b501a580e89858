"""The chat protocol's client frames (SPEC "WebSocket /ws/chat/"): parsed and validated here, as
REST bodies are in their formats, so the consumer only dispatches them."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, InvalidRequest

from .validation import refuse_invalid_text

TYPES = ("message", "cancel", "resume", "ping", "pong")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FrameInvalid(InvalidRequest):
    """A frame the server cannot act on; answered with an error frame naming the frame's id."""

    default_code = ErrorCode.INVALID_FRAME

    def __init__(self, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.client_id = client_id


def parse(text: str | None) -> dict[str, Any]:
    if text is None:
        raise FrameInvalid("Frames are JSON text, not binary.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameInvalid("The frame is not valid JSON.") from None
    if not isinstance(frame, dict) or frame.get("type") not in TYPES:
        raise FrameInvalid("A frame is an object whose type is message, cancel, resume, ping or pong.")
    client_id = frame.get("id") if isinstance(frame.get("id"), str) else None
    try:
        refuse_invalid_text(frame)
    except ApiError as error:
        raise FrameInvalid(error.message, client_id) from None
    if frame["type"] in ("ping", "pong"):
        return frame
    if client_id is None or not CLIENT_ID.match(client_id):
        raise FrameInvalid("'id' must be 1-64 letters, digits, '-' or '_'.")
    if frame["type"] == "message":
        _check_message(frame, client_id)
    elif frame["type"] == "resume":
        offset = frame.setdefault("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise FrameInvalid("'offset' must be a non-negative integer.", client_id)
    return frame


def _check_message(frame: dict[str, Any], client_id: str) -> None:
    content, model = frame.setdefault("content", ""), frame.get("model") or "auto"
    frame["model"], frame["regenerate"] = model, bool(frame.get("regenerate"))
    conversation_id = frame.setdefault("conversation_id", None)
    if not isinstance(content, str) or not isinstance(model, str) or len(model) > 100:
        raise FrameInvalid("'content' and 'model' must be strings.", client_id)
    if not frame["regenerate"] and not content.strip():
        raise FrameInvalid("'content' is empty.", client_id)
    if len(content) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise FrameInvalid(f"'content' is longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters.", client_id)
    if conversation_id is not None and (not isinstance(conversation_id, int) or isinstance(conversation_id, bool)):
        raise FrameInvalid("'conversation_id' must be an integer.", client_id)
    stores = frame.setdefault("vector_store_ids", [])
    if (
        not isinstance(stores, list)
        or len(stores) > 10
        or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in stores)
    ):
        raise FrameInvalid("'vector_store_ids' must be a list of at most 10 vector store ids.", client_id)
    tools = frame.setdefault("tools", [])
    if (
        not isinstance(tools, list)
        or len(tools) > 32
        or not all(isinstance(t, str) and TOOL_NAME.match(t) for t in tools)
    ):
        raise FrameInvalid("'tools' must be a list of at most 32 tool names.", client_id)
