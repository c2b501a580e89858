"""The vector store is a shortcut: when it fails, a semantic lookup is a miss, never an error."""

from __future__ import annotations

import asyncio
import logging

from django.db import DatabaseError

from apps.cache import policy, stage, store, vectors
from apps.core.outcome import CacheStatus

from .test_purge import request


class Broken:
    async def nearest(self, *args):
        raise DatabaseError("the database went away")


def semantic_everywhere(monkeypatch) -> None:
    rules = policy.Policy("", "semantic", 3600, 0.85, 1.0, True, 86400)
    loaded = policy.Policies("v", {("platform", None, ""): rules})

    async def current():
        return loaded

    monkeypatch.setattr(policy, "current", current)
    monkeypatch.setattr(vectors, "vectors", lambda: Broken())


def test_a_failing_vector_store_makes_a_semantic_lookup_a_miss(monkeypatch, caplog):
    semantic_everywhere(monkeypatch)
    asked = request(7001)
    _, scope = store.question_and_scope(7001, "", "asked", asked.chat)
    asyncio.run(store.mark_scope(7001, scope, 60))  # a question of this scope has a vector

    with caplog.at_level(logging.WARNING, logger="catalyst.cache"):
        asyncio.run(stage.lookup(asked))

    assert asked.cache_status == CacheStatus.MISS
    assert asked.cache_entry is None
    assert asked.semantic_view is None  # nothing to store a vector for
    assert [r.getMessage() for r in caplog.records] == ["semantic lookup failed"]


def test_a_question_first_in_its_scope_is_neither_embedded_nor_looked_up_before_the_answer(monkeypatch, caplog):
    semantic_everywhere(monkeypatch)  # a vector query would fail, and log
    first = request(7002)

    with caplog.at_level(logging.WARNING, logger="catalyst.cache"):
        asyncio.run(stage.lookup(first))

    assert first.cache_status == CacheStatus.MISS
    assert first.semantic_view == store.question_and_scope(7002, "", "asked", first.chat)  # stored after the answer
    assert first.semantic_vector is None
    assert caplog.records == []
