"""Purges: an entry stored before a purge that matches it (the tenant; or its use case; or the model
asked for or that answered) is not served; other entries and other tenants' are."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.cache import policy, stage, store
from apps.cache.controls import NONE, Controls
from apps.core.outcome import CacheStatus, Outcome
from apps.providers.types import ChatRequest, Finish, TextDelta
from apps.tenancy.principal import Principal

RULES = policy.Policy("", "exact", 3600, 0.85, 1.0, True, 86400)
FAQ = policy.Policy("faq", "exact", 3600, 0.85, 1.0, True, 86400)


def request(tenant_id: int, model: str = "asked", controls: Controls = NONE) -> SimpleNamespace:
    return SimpleNamespace(
        principal=Principal(tenant_id=tenant_id, tenant_slug="t", tier="free", method="api_key"),
        kind="chat", request_id="r",
        requested_model=model, chat=ChatRequest(messages=[{"role": "user", "content": "hi"}]), cache_controls=controls,
        cache_status=CacheStatus.BYPASS, cache_policy=None, cache_key=None, cache_entry=None, stale_entry=None,
        outcome=Outcome.PENDING, semantic_view=None, semantic_vector=None,
    )  # fmt: skip


def statuses(monkeypatch, purges: dict, asks: list[SimpleNamespace]) -> list[str]:
    rows = {("platform", None, ""): RULES, ("platform", None, "faq"): FAQ}
    loaded = policy.Policies("v", rows, purges)

    async def current():
        return loaded

    monkeypatch.setattr(policy, "current", current)

    async def run():
        for asked in asks:
            await stage.lookup(asked)
        return [str(asked.cache_status) for asked in asks]

    return asyncio.run(run())


def stored(tenant_id: int, model: str = "asked", use_case: str = "", answered: str = "answered") -> float:
    key = store.key(tenant_id, use_case, model, ChatRequest(messages=[{"role": "user", "content": "hi"}]))
    created = time.time() - 5
    entry = store.Entry(created, 3600, answered, (TextDelta("hello"), Finish("stop")), Decimal("0.00000100"))
    asyncio.run(store.put(key, entry, 60))
    return created


@pytest.mark.parametrize(
    ("purge", "expected"),
    [
        ({}, ["HIT", "HIT", "HIT", "HIT"]),
        ({(1, "", ""): 0}, ["MISS", "MISS", "MISS", "HIT"]),  # the whole tenant
        ({(1, "faq", ""): 0}, ["HIT", "HIT", "MISS", "HIT"]),  # one use case
        ({(1, "", "other"): 0}, ["HIT", "MISS", "HIT", "HIT"]),  # a model asked for
        ({(1, "", "answered"): 0}, ["MISS", "MISS", "MISS", "HIT"]),  # the model that answered
        ({(1, "", ""): -60}, ["HIT", "HIT", "HIT", "HIT"]),  # a purge before they were stored
    ],
)
def test_a_purge_hides_exactly_the_entries_it_matches(monkeypatch, purge, expected):
    stored(1), stored(1, model="other"), stored(1, use_case="faq"), stored(2)
    asks = [request(1), request(1, "other"), request(1, controls=Controls(use_case="faq")), request(2)]
    purges = {scope: time.time() + offset for scope, offset in purge.items()}  # seconds from now

    assert statuses(monkeypatch, purges, asks) == expected
