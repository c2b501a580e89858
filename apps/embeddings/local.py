"""The embedding model packaged with Catalyst: WordLlama's 256-dimension model, inside its PyPI wheel
(no download, no provider, ~40 µs a short text). ADR 0017 says why this one."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

SPACE = "local/wordllama-l2-supercat-256"  # the vectors' space: only vectors of one space compare


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32), so a dot product is the cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class LocalEmbedder:
    dimensions = 256

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _loaded(self):
        with self._lock:
            if self._model is None:
                import wordllama

                folder = os.path.dirname(wordllama.__file__)
                self._model = wordllama.WordLlama.load(cache_dir=folder, disable_download=True)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text."""
        return unit(self._loaded().embed(list(texts)))

    def word_similarity(self, a: str, b: str) -> float:
        vectors = self.embed([a, b])
        return float(vectors[0] @ vectors[1])


@lru_cache(maxsize=1)
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder()
