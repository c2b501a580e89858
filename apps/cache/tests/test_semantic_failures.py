"""The vector store is a shortcut: when it fails, a semantic lookup is a miss, never an error."""

from __future__ import annotations

import asyncio
import logging

from django.db import DatabaseError

from apps.cache import policy, stage, vectors
from apps.core.outcome import CacheStatus

from .test_purge import request


class Broken:
    async def nearest(self, *args):
        raise DatabaseError("the database went away")


def test_a_failing_vector_store_makes_a_semantic_lookup_a_miss(monkeypatch, caplog):
    rules = policy.Policy("", "semantic", 3600, 0.85, 1.0, True, 86400)
    loaded = policy.Policies("v", {("platform", None, ""): rules})

    async def current():
        return loaded

    monkeypatch.setattr(policy, "current", current)
    monkeypatch.setattr(vectors, "vectors", lambda: Broken())
    asked = request(1)
    asked.semantic_view = None

    with caplog.at_level(logging.WARNING, logger="catalyst.cache"):
        asyncio.run(stage.lookup(asked))

    assert asked.cache_status == CacheStatus.MISS
    assert asked.cache_entry is None
    assert asked.semantic_view is None  # nothing to store a vector for
    assert [r.getMessage() for r in caplog.records] == ["semantic lookup failed"]
