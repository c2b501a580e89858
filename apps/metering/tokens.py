"""Token counts: exact for OpenAI-family models, a documented estimate for the others.

Exact counts use `bpe-openai`, a Rust BPE whose cl100k/o200k tables ship inside the wheel (no
download at run time); it reproduces tiktoken's ids. Other providers' tokenizers are not public,
so their counts are estimated at four characters per token and replaced by the provider's
reported usage after the call.
"""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from typing import Any

import bpe_openai

from apps.catalogue.models import ProviderKind
from apps.catalogue.snapshot import ModelInfo

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3  # OpenAI's chat framing per message
REPLY_PRIMER = 3  # every reply is primed with <|start|>assistant<|message|>
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")


@lru_cache(maxsize=256)
def _encoding_for(upstream_name: str):
    name = upstream_name.lower().split("@", 1)[0]
    with contextlib.suppress(KeyError):  # unknown to the library: decide by family below
        return bpe_openai.get_encoding(bpe_openai.encoding_name_for_model(name))
    if name.startswith(_O200K_PREFIXES):
        return bpe_openai.get_encoding("o200k_base")
    if name.startswith(_CL100K_PREFIXES):
        return bpe_openai.get_encoding("cl100k_base")
    return None


def encoding_for(model: ModelInfo):
    """The model's tokenizer, or None when only an estimate is possible."""
    if model.provider.kind == ProviderKind.ANTHROPIC:
        return None
    return _encoding_for(model.upstream_name)


def is_exact(model: ModelInfo) -> bool:
    return encoding_for(model) is not None


def estimate(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


# The tokenizer refuses texts of a million characters or 200,000 tokens; longer texts are counted
# in pieces cut before a space, where the BPE pre-tokeniser starts a new word anyway.
PIECE_CHARS = 100_000


def count_text(model: ModelInfo | None, text: str) -> int:
    encoding = encoding_for(model) if model is not None else None
    return exact_count(encoding, text) if encoding is not None else estimate(text)


def exact_count(encoding, text: str, piece: int = PIECE_CHARS) -> int:
    if len(text) <= piece:
        return len(encoding.encode_ordinary(text))
    total, start = 0, 0
    while start < len(text):
        end = min(start + piece, len(text))
        if end < len(text):
            space = text.rfind(" ", start + piece // 2, end)
            end = space if space > start else end
        total += len(encoding.encode_ordinary(text[start:end]))
        start = end
    return total


def _message_parts(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    parts = [message.get("role", ""), content or "", message.get("name", "")]
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        parts += [function.get("name", ""), function.get("arguments", "")]
    return [p for p in parts if p]


def prompt_tokens(model: ModelInfo | None, messages: list[dict[str, Any]], tools: list | None = None) -> int:
    """Tokens the prompt will cost: OpenAI's chat framing (3 per message, 3 to prime the reply)
    plus each field's tokens, plus the tool definitions as JSON."""
    total = REPLY_PRIMER
    for message in messages:
        total += TOKENS_PER_MESSAGE + sum(count_text(model, part) for part in _message_parts(message))
    if tools:
        total += count_text(model, json.dumps(tools, separators=(",", ":")))
    return total
