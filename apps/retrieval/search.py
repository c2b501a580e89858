"""Hybrid search over a tenant's vector stores: the nearest chunks by embedding and the best
chunks by keywords, merged by reciprocal rank fusion (RRF, k = 60).

On PostgreSQL both run in one query: pgvector's HNSW index for the embedding (a partial index
per size) and the GIN index of the full-text vector (English stemming; the question's words
OR-ed). On SQLite (the embedded default) the same ranking runs in process: cosine similarity with
numpy and BM25 over the chunks' words. The tenant is in every WHERE clause, with the stores and the
attachments the caller may see (completed, in the question's embedding space, matching the
filters).

A result's score is its fused score over the best possible (first in both lists): 1.0 is a chunk
both searches put first, 0.5 one that a single search put first.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from .models import Chunk, IngestStatus, VectorStoreFile, vector_literal

RRF_K = 60
CANDIDATES = 40  # from each search, before fusion
# HNSW's candidate list (hnsw.ef_search): set per query by the scope's share of the table, within
# these bounds; the default when the share is not known.
EF_MIN, EF_MAX, EF_SEARCH = 100, 1000, 400
EXACT_ROWS = 20_000  # a scope of at most this many chunks is searched exactly
COMMON_SHARE = 0.05  # a word in more chunks than this is left out of the keyword query
COMMON_SECONDS = 300
COMMON_MIN_ROWS = 10_000  # in a smaller table a document's own words are in more than one chunk in twenty
RANKED = 1000  # keyword matches ranked at most (the rest of a very common match is not read)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    attachment_id: int
    text: str
    score: float
    similarity: float | None = None  # the chunk's cosine to the question, when the nearest half found it


def allowed_attachments(
    tenant_id: int, store_ids: Sequence[int], space: str, filters: dict | None
) -> dict[int, VectorStoreFile]:
    rows = VectorStoreFile.objects.select_related("file", "store").filter(
        tenant_id=tenant_id, store_id__in=list(store_ids), status=IngestStatus.COMPLETED, space=space
    )
    return {row.pk: row for row in rows if filters is None or matches(filters, row.attributes)}


def matches(condition: dict, attributes: dict) -> bool:
    """OpenAI's attribute filters: comparisons (eq, ne, gt, gte, lt, lte, in, nin) and compounds
    (and, or). A missing attribute matches only `ne` and `nin`."""
    kind = condition["type"]
    if kind in ("and", "or"):
        found = (matches(inner, attributes) for inner in condition["filters"])
        return all(found) if kind == "and" else any(found)
    key, value = condition["key"], condition["value"]
    if key not in attributes:
        return kind in ("ne", "nin")
    actual = attributes[key]
    if kind in ("eq", "ne"):
        return _same(actual, value) is (kind == "eq")
    if kind in ("in", "nin"):
        return any(_same(actual, item) for item in value) is (kind == "in")
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (actual, value))
    if not numbers and not (isinstance(actual, str) and isinstance(value, str)):
        return False  # order compares numbers with numbers and strings with strings
    try:
        return {"gt": actual > value, "gte": actual >= value, "lt": actual < value, "lte": actual <= value}[kind]
    except TypeError:
        return False


def _same(a: object, b: object) -> bool:
    """Equal and of one kind: true is not 1, and 2024 is 2024.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def search(
    tenant_id: int, store_ids: Sequence[int], attachment_ids: Sequence[int], vector: np.ndarray, query: str, limit: int,
    scope_rows: int | None = None,
) -> list[Hit]:  # fmt: skip
    """The best `limit` chunks; `scope_rows` is how many chunks the attachments hold (their counts),
    which decides between an exact and an approximate nearest-neighbour search."""
    if not attachment_ids:
        return []
    if connection.vendor == "postgresql":
        return _postgres(tenant_id, list(store_ids), list(attachment_ids), vector, query, limit, scope_rows)
    return _in_process(tenant_id, list(store_ids), list(attachment_ids), vector, query, limit)


def _fused(ranks: dict[int, list[int]]) -> dict[int, float]:
    best = 2 / (RRF_K + 1)
    return {key: sum(1 / (RRF_K + rank) for rank in found) / best for key, found in ranks.items()}


def _nearest_sql(size: int, approximate: bool) -> str:
    """The nearest chunks. Exact (the tenant's index, then every vector of the scope compared)
    for a small scope; through HNSW for a large one, with the tenant, store and attachment filters
    written so that no b-tree index can serve them (`+ 0`): the planner would otherwise compare
    all of a large tenant's vectors. The size is an int written into the SQL: the partial index
    needs it there."""
    cast = f"::vector({int(size)})"
    plus = " + 0" if approximate else ""
    return (
        f"SELECT c.id, 1 - (c.embedding{cast} <=> %(vector)s{cast}) FROM retrieval_chunk c "  # noqa: S608
        f"WHERE (c.tenant_id{plus}) = %(tenant)s "
        f"AND (c.store_id{plus}) = ANY(%(stores)s) AND (c.attachment_id{plus}) = ANY(%(attachments)s) "
        f"AND c.dimensions = {int(size)} ORDER BY c.embedding{cast} <=> %(vector)s{cast} LIMIT %(candidates)s"
    )


_COMMON_SQL = f"""
SELECT e.lexeme FROM pg_stats s, pg_class t,
       unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(lexeme, frequency)
WHERE s.tablename = 'retrieval_chunk' AND s.attname = 'search' AND e.frequency > {COMMON_SHARE}
  AND t.relname = 'retrieval_chunk' AND t.reltuples >= {COMMON_MIN_ROWS}
"""  # noqa: S608 - module constants
_KEYWORD_SQL = f"""
WITH q AS (
    SELECT to_tsquery('simple', coalesce((
               SELECT string_agg(quote_literal(lexeme), ' | ')
               FROM unnest(tsvector_to_array(to_tsvector('english', %(query)s))) lexeme
               WHERE lexeme <> ALL(%(common)s)), '')) AS t
)
SELECT m.id FROM q, (
    SELECT c.id, c.search FROM retrieval_chunk c, q
    WHERE c.tenant_id = %(tenant)s AND c.store_id = ANY(%(stores)s) AND c.attachment_id = ANY(%(attachments)s)
      AND c.search @@ q.t
    LIMIT {RANKED}) m
ORDER BY ts_rank_cd(m.search, q.t) DESC, m.id LIMIT %(candidates)s
"""  # noqa: S608
_statistics_read: tuple[float, float, list[str]] = (0.0, 0.0, [])


def _statistics(cursor) -> tuple[float, list[str]]:
    """The table's rows and its common lexemes (in more than one chunk in twenty, once the table
    holds 10,000 chunks: they say little about which chunk answers, and matching them would rank
    most of a store), from ANALYZE's statistics, read every 5 minutes."""
    global _statistics_read
    if time.monotonic() - _statistics_read[0] > COMMON_SECONDS:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'retrieval_chunk'")
        rows = cursor.fetchone()[0]
        cursor.execute(_COMMON_SQL)
        _statistics_read = (time.monotonic(), float(rows), [row[0] for row in cursor.fetchall()])
    return _statistics_read[1], _statistics_read[2]


_TEXTS_SQL = "SELECT id, attachment_id, text FROM retrieval_chunk WHERE id = ANY(%(ids)s) AND tenant_id = %(tenant)s"


def _params(tenant_id, store_ids, attachment_ids, vector, query, candidates) -> dict:
    return {
        "vector": vector_literal(vector), "query": query[:10_000],
        "tenant": tenant_id, "stores": store_ids, "attachments": attachment_ids, "candidates": candidates,
    }  # fmt: skip


def rankings(
    cursor, params: dict, size: int, scope_rows: int | None, wanted: int = 1
) -> tuple[list[int], list[int], dict[int, float]]:  # fmt: skip
    """The chunk ids of each half of the search, best first (nearest by embedding, best by
    keywords), and the nearest chunks' similarity to the question. `wanted`: fewer nearest
    chunks than this from the index, and the scope is searched exactly."""
    approximate = scope_rows is None or scope_rows > EXACT_ROWS
    if approximate:  # HNSW, or nothing: a sequential scan would compare every vector of the table
        cursor.execute(f"SET LOCAL hnsw.ef_search = {_ef_search(cursor, params['candidates'], scope_rows)}")
        cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute(_nearest_sql(size, approximate), params)
    nearest = cursor.fetchall()
    if approximate:
        cursor.execute("SET LOCAL enable_seqscan = on")
        if len(nearest) < min(wanted, scope_rows or wanted):
            # the index's candidates were mostly other scopes' rows: compare this scope's exactly
            cursor.execute(_nearest_sql(size, False), params)
            nearest = cursor.fetchall()
    cursor.execute(_KEYWORD_SQL, {**params, "common": _statistics(cursor)[1]})
    return [row[0] for row in nearest], [row[0] for row in cursor.fetchall()], dict(nearest)


def _ef_search(cursor, candidates: int, scope_rows: int | None) -> int:
    """HNSW's candidate list: the tenant, store and attachment filters apply after the index, so
    a scope holding a tenth of the table needs ten times the candidates it keeps."""
    rows = _statistics(cursor)[0]
    if not scope_rows or rows <= 0:
        return EF_SEARCH
    return int(min(EF_MAX, max(EF_MIN, candidates * 1.5 * rows / scope_rows)))


def _postgres(tenant_id, store_ids, attachment_ids, vector, query, limit, scope_rows) -> list[Hit]:
    params = _params(tenant_id, store_ids, attachment_ids, vector, query, max(CANDIDATES, limit))
    with transaction.atomic(), connection.cursor() as cursor:
        ranks: dict[int, list[int]] = {}
        nearest, keyword, similarity = rankings(cursor, params, vector.shape[0], scope_rows, limit)
        for found in (nearest, keyword):
            for rank, key in enumerate(found, start=1):
                ranks.setdefault(key, []).append(rank)
        cursor.execute(_TEXTS_SQL, {"ids": list(ranks), "tenant": tenant_id})
        texts = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    return _ranked({key: score for key, score in _fused(ranks).items() if key in texts}, texts, limit, similarity)


def _ranked(
    scores: dict[int, float], texts: dict[int, tuple[int, str]], limit: int, similarity: dict[int, float]
) -> list[Hit]:  # fmt: skip
    order = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [
        Hit(key, texts[key][0], texts[key][1], round(scores[key], 4),
            round(float(similarity[key]), 4) if key in similarity else None)
        for key in order
    ]  # fmt: skip


def _in_process(tenant_id, store_ids, attachment_ids, vector, query, limit) -> list[Hit]:
    rows = list(
        Chunk.objects.filter(
            tenant_id=tenant_id, store_id__in=store_ids, attachment_id__in=attachment_ids, dimensions=vector.shape[0]
        ).values_list("id", "attachment_id", "text", "embedding")
    )
    if not rows:
        return []
    matrix = np.stack([row[3] for row in rows])
    similarity = matrix @ vector
    nearest = np.argsort(-similarity, kind="stable")[:CANDIDATES]
    ranks: dict[int, list[int]] = {}
    for rank, index in enumerate(nearest, start=1):
        ranks.setdefault(rows[index][0], []).append(rank)
    for rank, index in enumerate(_bm25([row[2] for row in rows], query)[:CANDIDATES], start=1):
        ranks.setdefault(rows[index][0], []).append(rank)
    texts = {row[0]: (row[1], row[2]) for row in rows}
    return _ranked(_fused(ranks), texts, limit, {rows[index][0]: similarity[index] for index in nearest})


def _bm25(texts: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> list[int]:
    """Indexes of the texts that hold a word of the query, best first (Okapi BM25)."""
    words = set(word.lower() for word in _WORD.findall(query))
    if not words:
        return []
    documents = [Counter(word.lower() for word in _WORD.findall(text)) for text in texts]
    average = sum(sum(d.values()) for d in documents) / len(documents) or 1
    frequency = {word: sum(1 for d in documents if word in d) for word in words}
    scores = []
    for index, document in enumerate(documents):
        length, score = sum(document.values()), 0.0
        for word in words:
            count = document.get(word, 0)
            if count:
                idf = math.log(1 + (len(documents) - frequency[word] + 0.5) / (frequency[word] + 0.5))
                score += idf * count * (k1 + 1) / (count + k1 * (1 - b + b * length / average))
        if score > 0:
            scores.append((score, index))
    scores.sort(key=lambda pair: (-pair[0], pair[1]))
    return [index for _, index in scores]
