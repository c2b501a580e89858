"""Hybrid search on PostgreSQL, both nearest-neighbour strategies and the in-process one used on
SQLite, over chunks of two tenants with the same texts: the right chunk first, never another
tenant's, and OpenAI's attribute filters."""

from __future__ import annotations

import pytest

from apps.embeddings.local import local_embedder
from apps.retrieval import search
from apps.retrieval.models import Chunk, StoredFile, VectorStore, VectorStoreFile

pytestmark = pytest.mark.django_db
TEXTS = (
    "Mount Etna in Sicily is the most active volcano in Europe.",
    "Sourdough bread bakes at 250 degrees in a covered pot.",
    "Refunds are paid within fourteen days of delivery.",
    "The flux capacitor needs exactly 1.21 gigawatts.",
    "Invoice INV-7731 was paid by bank transfer on Monday.",
)


def _scope(tenant) -> tuple[VectorStore, VectorStoreFile]:
    stored = StoredFile.objects.create(tenant=tenant, filename="facts.txt", purpose="assistants", bytes=1,
                                       content_type="text/plain", sha256="0" * 64, storage_name="none")  # fmt: skip
    store = VectorStore.objects.create(tenant=tenant, name="facts")
    attachment = VectorStoreFile.objects.create(tenant=tenant, store=store, file=stored, status="completed",
                                                space="local/256", chunks=len(TEXTS))  # fmt: skip
    for position, (text, vector) in enumerate(zip(TEXTS, local_embedder().embed(list(TEXTS)), strict=True)):
        Chunk.objects.create(tenant=tenant, store=store, attachment=attachment, position=position, text=text,
                             tokens=12, dimensions=256, embedding=vector)  # fmt: skip
    return store, attachment


@pytest.fixture
def scopes(world):
    return {tenant.pk: _scope(tenant) for tenant in (world.acme, world.globex)}


@pytest.mark.parametrize("scope_rows", [len(TEXTS), search.EXACT_ROWS + 1, None], ids=["exact", "hnsw", "unknown"])
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which volcano in Sicily is active?", 0),
        ("How much power does the flux capacitor need?", 3),
        ("INV-7731", 4),  # a code: the keyword half finds it
    ],
)
def test_the_chunk_that_answers_comes_first_and_only_the_tenants_own(world, scopes, scope_rows, question, expected):
    store, attachment = scopes[world.acme.pk]
    vector = local_embedder().embed([question])[0]

    hits = search.search(world.acme.pk, [store.pk], [attachment.pk], vector, question, 3, scope_rows)

    assert hits[0].text == TEXTS[expected]
    owners = set(Chunk.objects.filter(pk__in=[h.chunk_id for h in hits]).values_list("tenant_id", flat=True))
    assert owners == {world.acme.pk}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert 0 < hits[-1].score <= hits[0].score <= 1


def test_a_store_or_attachment_of_another_tenant_finds_nothing(world, scopes):
    theirs, their_attachment = scopes[world.globex.pk]
    vector = local_embedder().embed(["volcano"])[0]

    assert search.search(world.acme.pk, [theirs.pk], [their_attachment.pk], vector, "volcano", 5) == []


def test_the_in_process_search_ranks_as_the_database_does(world, scopes):
    store, attachment = scopes[world.acme.pk]
    question = "How much power does the flux capacitor need?"
    vector = local_embedder().embed([question])[0]

    hits = search._in_process(world.acme.pk, [store.pk], [attachment.pk], vector, question, 3)

    assert hits[0].text == TEXTS[3]
    assert {h.chunk_id for h in hits} <= set(Chunk.objects.filter(tenant=world.acme).values_list("pk", flat=True))


FLAG, OLD = {"type": "eq", "key": "flag", "value": True}, {"type": "lte", "key": "year", "value": 2023}
ELSEWHERE, RECENT = {"type": "eq", "key": "topic", "value": "x"}, {"type": "eq", "key": "year", "value": 2024}


@pytest.mark.parametrize(
    ("condition", "matched"),
    [
        ({"type": "eq", "key": "topic", "value": "geology"}, True),
        ({"type": "ne", "key": "missing", "value": "x"}, True),
        ({"type": "gte", "key": "year", "value": 2024}, True),
        ({"type": "lt", "key": "year", "value": 2024.5}, True),
        ({"type": "gt", "key": "topic", "value": 3}, False),  # a string is not ordered against a number
        ({"type": "eq", "key": "flag", "value": 1}, False),  # true is not 1
        ({"type": "in", "key": "year", "value": [1, 2024.0]}, True),
        ({"type": "in", "key": "topic", "value": ["geology", "policy"]}, True),
        ({"type": "nin", "key": "missing", "value": ["x"]}, True),
        ({"type": "and", "filters": [FLAG, OLD]}, False),
        ({"type": "or", "filters": [ELSEWHERE, RECENT]}, True),
    ],
)
def test_attribute_filters_follow_openais_rules(condition, matched):
    assert search.matches(condition, {"topic": "geology", "year": 2024, "flag": True}) is matched


def test_ten_thousand_searches_of_tenants_with_identical_documents_find_only_their_own(world):
    from apps.tenancy import services

    tenants = [world.acme, world.globex, services.tenant_onboard(slug="third", name="Third", tier="free").tenant]
    scopes = {tenant.pk: _scope(tenant) for tenant in tenants}
    owner = dict(Chunk.objects.values_list("pk", "tenant_id"))
    questions = ["volcano in Sicily", "bread oven temperature", "refund deadline", "flux capacitor power",
                 "INV-7731 payment"]  # fmt: skip
    vectors = local_embedder().embed(questions)
    results = foreign = 0

    for n in range(10_000):
        tenant = tenants[n % 3]
        store, attachment = scopes[tenant.pk]
        hits = search.search(tenant.pk, [store.pk], [attachment.pk], vectors[n % 5], questions[n % 5], 3, 5)
        results += len(hits)
        foreign += sum(owner[hit.chunk_id] != tenant.pk for hit in hits)

    assert (results, foreign) == (30_000, 0)
