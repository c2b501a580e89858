"""The semantic cache's vectors on PostgreSQL: found only in their tenant, scope and size, gone
once their entry expires; the embedded default's memory store behaves the same."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from apps.cache import vectors
from apps.tenancy import services
from apps.tenancy.models import Tenant

SCOPE, OTHER_SCOPE = "a" * 64, "b" * 64


def unit(size: int, seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(size).astype(np.float32)
    return vector / np.linalg.norm(vector)


async def exercise(store: vectors.MemoryVectors) -> tuple[list, list, list, list]:
    near, far, wide = unit(256, 1), unit(256, 2), unit(1536, 3)
    await store.add(1, SCOPE, "kept", "kept question", near, 60)
    await store.add(1, SCOPE, "expired", "expired question", near, 0)
    await store.add(1, SCOPE, "far", "far question", far, 60)
    await store.add(2, SCOPE, "other tenant", "q", near, 60)
    await store.add(1, OTHER_SCOPE, "other scope", "q", near, 60)
    await store.add(1, SCOPE, "wide", "wide question", wide, 60)
    found = await store.nearest(1, SCOPE, near)
    in_other_tenant = await store.nearest(2, SCOPE, near)
    wide_found = await store.nearest(1, SCOPE, wide)
    nothing = await store.nearest(3, SCOPE, near)
    return found, in_other_tenant, wide_found, nothing


def check(found, in_other_tenant, wide_found, nothing) -> None:
    assert [c.entry_key for c in found] == ["kept", "far"]  # the expired one is not a candidate
    assert found[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert found[1].similarity == pytest.approx(float(unit(256, 1) @ unit(256, 2)), abs=1e-5)
    assert [c.entry_key for c in in_other_tenant] == ["other tenant"]
    assert [(c.entry_key, c.question) for c in wide_found] == [("wide", "wide question")]  # its own size only
    assert nothing == []


@pytest.fixture(scope="module")
def tenants(django_db_setup, django_db_blocker):
    """Two tenants, committed: the vector queries run on connections of their own."""
    with django_db_blocker.unblock():
        pair = [services.tenant_onboard(slug=f"v-{n}", name=n, tier="free").tenant for n in ("one", "two")]
    yield pair
    with django_db_blocker.unblock():
        Tenant.objects.filter(pk__in=[t.pk for t in pair]).delete()  # their vectors go with them


@pytest.mark.django_db
def test_postgres_vectors_stay_in_their_tenant_scope_and_size_and_expire(tenants, django_db_blocker):
    first, second = tenants
    store = vectors._postgres

    async def run():
        near = unit(256, 1)
        await store.add(first.pk, SCOPE, "kept", "kept question", near, 60)
        await store.add(first.pk, SCOPE, "expired", "expired question", near, 0)
        await store.add(first.pk, SCOPE, "far", "far question", unit(256, 2), 60)
        await store.add(second.pk, SCOPE, "other tenant", "q", near, 60)
        await store.add(first.pk, OTHER_SCOPE, "other scope", "q", near, 60)
        await store.add(first.pk, SCOPE, "wide", "wide question", unit(1536, 3), 60)
        found = (
            await store.nearest(first.pk, SCOPE, near),
            await store.nearest(second.pk, SCOPE, near),
            await store.nearest(first.pk, SCOPE, unit(1536, 3)),
            await store.nearest(first.pk + second.pk + 1, SCOPE, near),
        )
        await vectors.close()
        return found

    check(*asyncio.run(run()))
    with django_db_blocker.unblock():
        assert vectors.expire() == 1  # the expired row, and only it, is deleted


def test_memory_vectors_behave_the_same():
    store = vectors.MemoryVectors()

    check(*asyncio.run(exercise(store)))
    assert store.expire() == 1


@pytest.mark.django_db
def test_a_scope_this_process_holds_is_searched_without_the_database_and_catches_up(tenants, monkeypatch):
    """The first lookup with a count fetches the scope's rows and keeps them; a lookup with the same
    count is answered from the copy (the database would fail now); a vector this process stores
    and counts next keeps it current; one counted elsewhere is fetched, and only it."""
    first, _ = tenants
    store, scope = vectors.PostgresVectors(), "c" * 64
    near, other, third = unit(256, 1), unit(256, 4), unit(256, 5)

    async def run():
        first_id = await store.add(first.pk, scope, "one", "first question", near, 60)
        fetched = await store.nearest(first.pk, scope, near, count=1)
        second_id = await store.add(first.pk, scope, "two", "second question", other, 60)
        store.counted(first.pk, scope, 2, second_id, "two", "second question", other, 60)
        await store.add(first.pk, scope, "three", "third question", third, 60)  # another process's, counted 3
        await vectors.close()
        with monkeypatch.context() as patched:
            patched.setattr(vectors, "_connections", lambda: (_ for _ in ()).throw(AssertionError("no query")))
            from_copy = await store.nearest(first.pk, scope, other, count=2)
        caught_up = await store.nearest(first.pk, scope, third, count=3)
        await vectors.close()
        return first_id, fetched, from_copy, caught_up

    first_id, fetched, from_copy, caught_up = asyncio.run(run())

    assert first_id > 0
    assert [c.entry_key for c in fetched] == ["one"]
    assert [c.entry_key for c in from_copy] == ["two", "one"]
    assert from_copy[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert caught_up[0].entry_key == "three"
    assert store.copies.behind(first.pk, scope, 3) == 0


def test_copies_stay_within_their_memory_budget(monkeypatch):
    monkeypatch.setattr(vectors, "COPY_FLOATS", 256 * 3)
    copies = vectors.ScopeCopies()
    row = (1, unit(256, 1), "k", "q", float("inf"))

    for n in range(5):
        copies.merge(1, f"scope-{n}", 1, [row], 256, whole=True)

    assert [copies.behind(1, f"scope-{n}", 1) for n in range(5)] == [None, None, 0, 0, 0]


def test_a_scope_that_outgrew_its_copy_is_never_fetched_whole_again(monkeypatch):
    monkeypatch.setattr(vectors, "COPY_ROWS", 2)
    copies = vectors.ScopeCopies()
    rows = [(n, unit(256, n), f"k{n}", "q", float("inf")) for n in range(3)]

    kept = copies.merge(1, "s", 3, rows, 256, whole=True)

    assert kept is False
    assert copies.large(1, "s") is True
    assert copies.behind(1, "s", 3) is None
