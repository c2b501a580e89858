"""The one embeddings service: every feature that needs vectors (the semantic cache, retrieval)
asks here, for a tenant.

A tenant's vectors come from its embedding model (`Tenant.embedding_model`, else the platform's
`EMBEDDING_MODEL`):
- a catalogue model, called through the one pipeline as an embeddings request of its own, so it
  is routed (with fallback), limited, metered and audited like any `/v1/embeddings` call;
- or, when neither names one, the local model packaged with Catalyst (`local.py`): the embedded
  default and `make run` need no provider key.

Vectors of different models never meet: each answer names its `space` (the model that answered
and the dimensions), and stores keep vectors per space.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from apps.catalogue.models import ModelKind
from apps.providers.types import ChatRequest
from apps.tenancy.principal import Principal

from .local import SPACE, local_embedder, unit

INLINE_TEXTS = 8  # more texts than this are embedded locally off the event loop


@dataclass(frozen=True, slots=True)
class Embedded:
    space: str
    vectors: np.ndarray  # float32 unit rows, one per text


def model_for(principal: Principal) -> str:
    """The catalogue embedding model of the tenant ("": the local model)."""
    return principal.embedding_model or settings.EMBEDDING_MODEL


async def embed(principal: Principal, texts: Sequence[str], *, purpose: str, request_id: str) -> Embedded:
    """Unit vectors of `texts` in the tenant's space. `purpose` names the call in usage records and
    the audit trail (at most 32 characters: "cache-embeddings"). Raises the pipeline's ApiError when
    the provider call fails or a limit refuses it."""
    name = model_for(principal)
    if not name:
        if len(texts) <= INLINE_TEXTS:
            return Embedded(SPACE, local_embedder().embed(texts))
        return Embedded(SPACE, await asyncio.to_thread(local_embedder().embed, texts))
    from apps.gateway import pipeline  # the pipeline's stages use this service

    request = pipeline.on_behalf(
        principal, request_id, purpose, name, ChatRequest(messages=[]), any_model=True, kind=ModelKind.EMBEDDING,
        inputs=list(texts),
    )  # fmt: skip
    result = await pipeline.embed(request)
    vectors = unit(np.asarray(result.vectors, dtype=np.float32))
    return Embedded(f"{request.model.name}/{vectors.shape[1]}", vectors)
