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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from .models import Chunk, IngestStatus, VectorStoreFile

RRF_K = 60
CANDIDATES = 40  # from each search, before fusion
EF_SEARCH = 200  # HNSW candidates (pgvector's hnsw.ef_search): the tenant and store filter applies after
COMMON_SHARE = 0.05  # a word in more chunks than this is left out of the keyword query
RANKED = 1000  # keyword matches ranked at most (the rest of a very common match is not read)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    attachment_id: int
    text: str
    score: float


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
    if kind == "eq":
        return actual == value
    if kind == "ne":
        return actual != value
    if kind == "in":
        return actual in value
    if kind == "nin":
        return actual not in value
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (actual, value))
    if not numbers and not (isinstance(actual, str) and isinstance(value, str)):
        return False  # order compares numbers with numbers and strings with strings
    try:
        return {"gt": actual > value, "gte": actual >= value, "lt": actual < value, "lte": actual <= value}[kind]
    except TypeError:
        return False


def search(
    tenant_id: int, store_ids: Sequence[int], attachment_ids: Sequence[int], vector: np.ndarray, query: str, limit: int
) -> list[Hit]:
    if not attachment_ids:
        return []
    if connection.vendor == "postgresql":
        return _postgres(tenant_id, list(store_ids), list(attachment_ids), vector, query, limit)
    return _in_process(tenant_id, list(store_ids), list(attachment_ids), vector, query, limit)


def _fused(ranks: dict[int, list[int]]) -> dict[int, float]:
    best = 2 / (RRF_K + 1)
    return {key: sum(1 / (RRF_K + rank) for rank in found) / best for key, found in ranks.items()}


def _postgres_sql(size: int) -> str:
    cast = f"::vector({int(size)})"  # an int, never request text: the partial index needs it written
    return f"""
WITH common AS (  -- lexemes in more than one chunk in twenty (ANALYZE statistics) say little
    SELECT e.lexeme FROM pg_stats s,
           unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(lexeme, frequency)
    WHERE s.tablename = 'retrieval_chunk' AND s.attname = 'search' AND e.frequency > {COMMON_SHARE}
), q AS (
    SELECT %(vector)s{cast} AS v,
           to_tsquery('simple', coalesce((
               SELECT string_agg(quote_literal(lexeme), ' | ')
               FROM unnest(tsvector_to_array(to_tsvector('english', %(query)s))) lexeme
               WHERE lexeme NOT IN (SELECT lexeme FROM common)), '')) AS t
), nearest AS (
    SELECT id, row_number() OVER (ORDER BY distance) AS rank FROM (
        SELECT c.id, c.embedding{cast} <=> q.v AS distance FROM retrieval_chunk c, q
        WHERE c.tenant_id = %(tenant)s AND c.store_id = ANY(%(stores)s) AND c.attachment_id = ANY(%(attachments)s)
          AND c.dimensions = {int(size)}
        ORDER BY c.embedding{cast} <=> q.v LIMIT %(candidates)s) found
), keyword AS (
    SELECT id, row_number() OVER (ORDER BY relevance DESC, id) AS rank FROM (
        SELECT m.id, ts_rank_cd(m.search, q.t) AS relevance FROM q, (
            SELECT c.id, c.search FROM retrieval_chunk c, q
            WHERE c.tenant_id = %(tenant)s AND c.store_id = ANY(%(stores)s) AND c.attachment_id = ANY(%(attachments)s)
              AND c.search @@ q.t
            LIMIT {RANKED}) m
        ORDER BY relevance DESC LIMIT %(candidates)s) found
)
SELECT c.id, c.attachment_id, c.text, n.rank, k.rank
FROM (SELECT id FROM nearest UNION SELECT id FROM keyword) ids
JOIN retrieval_chunk c ON c.id = ids.id AND c.tenant_id = %(tenant)s
LEFT JOIN nearest n ON n.id = ids.id LEFT JOIN keyword k ON k.id = ids.id
"""  # noqa: S608


def _postgres(tenant_id, store_ids, attachment_ids, vector, query, limit) -> list[Hit]:
    params = {
        "vector": "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]", "query": query[:10_000],
        "tenant": tenant_id, "stores": store_ids, "attachments": attachment_ids, "candidates": max(CANDIDATES, limit),
    }  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(EF_SEARCH)}")
        cursor.execute(_postgres_sql(vector.shape[0]), params)
        rows = cursor.fetchall()
    texts = {row[0]: (row[1], row[2]) for row in rows}
    scores = _fused({row[0]: [rank for rank in (row[3], row[4]) if rank is not None] for row in rows})
    return _ranked(scores, texts, limit)


def _ranked(scores: dict[int, float], texts: dict[int, tuple[int, str]], limit: int) -> list[Hit]:
    order = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [Hit(key, texts[key][0], texts[key][1], round(scores[key], 4)) for key in order]


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
    return _ranked(_fused(ranks), texts, limit)


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
