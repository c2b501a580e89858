"""OpenAI Embeddings on the wire."""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.providers.types import Embeddings

from .validation import NUMBER_ONLY

Text = Annotated[str, Field(min_length=1, max_length=100_000)]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=2048)]
    dimensions: Annotated[int, Field(ge=1, le=8192), NUMBER_ONLY] | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = Field(None, max_length=256)

    @property
    def inputs(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def render(model_name: str, result: Embeddings, encoding: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode(vector, encoding)}
            for i, vector in enumerate(result.vectors)
        ],
        "model": model_name,
        "usage": {"prompt_tokens": result.input_tokens, "total_tokens": result.input_tokens},
    }
