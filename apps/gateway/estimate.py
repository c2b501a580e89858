"""Token estimates used before a call and when a cut stream has no provider-reported usage.

About four characters per token for English text; the metering issue replaces this with exact
counts for OpenAI-family models.
"""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4
PER_MESSAGE_OVERHEAD = 4


def text_tokens_from_chars(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def _content_chars(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    return sum(len(part.get("text", "")) for part in content if isinstance(part, dict))


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        chars = _content_chars(message.get("content"))
        for call in message.get("tool_calls") or ():
            chars += len(call.get("function", {}).get("arguments", "")) + len(call.get("function", {}).get("name", ""))
        total += text_tokens_from_chars(chars) + PER_MESSAGE_OVERHEAD
    return total
