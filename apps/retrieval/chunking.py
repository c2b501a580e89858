"""Chunks by tokens with overlap, as OpenAI's static chunking strategy: windows of at most
`max_tokens` tokens (cl100k), each starting `max_tokens - overlap` tokens after the previous
one. Text arrives in pieces (extract.py) and chunks leave as soon as they are whole."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP = 800, 400  # OpenAI's "auto" strategy
MIN_MAX_TOKENS, MAX_MAX_TOKENS = 100, 4096


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    tokens: int


@lru_cache(maxsize=1)
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


def _text_of(tokens: list[int]) -> str:
    return _encoding().decode_bytes(tokens).decode("utf-8", errors="ignore").strip()


def chunks(
    texts: Iterable[str], max_tokens: int = DEFAULT_MAX_TOKENS, overlap: int = DEFAULT_OVERLAP
) -> Iterator[Piece]:
    step = max_tokens - overlap
    pending: list[int] = []
    for text in texts:
        pending.extend(_encoding().encode_ordinary(text + "\n"))
        while len(pending) >= max_tokens + step:  # the next window is whole and one follows it
            window = pending[:max_tokens]
            pending = pending[step:]
            piece = _text_of(window)
            if piece:
                yield Piece(piece, len(window))
    while pending:
        window = pending[:max_tokens]
        piece = _text_of(window)
        if piece:
            yield Piece(piece, len(window))
        if len(pending) <= max_tokens:
            break
        pending = pending[step:]
