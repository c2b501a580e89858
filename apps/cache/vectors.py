"""Where the semantic cache keeps its questions' vectors: PostgreSQL with pgvector (an HNSW index;
the tenant and the request's scope in every WHERE clause), or this process's memory on the
embedded default (SQLite). A vector only points at an exact entry in the hot store; what is
served is that entry, after the ordered check."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import connection

from apps.core.db import refresh_connections

CANDIDATES = 4  # nearest questions checked per lookup
MEMORY_PER_SCOPE = 2000  # the embedded default keeps the newest this many per tenant and scope


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_key: str
    question: str
    similarity: float


def _literal(vector) -> str:
    return "[" + ",".join(f"{float(x):.6f}" for x in vector) + "]"


def _nearest_sql(size: int) -> str:
    """The size is written into the SQL (an int, never request text): the partial index needs it there."""
    cast = f"::vector({int(size)})"
    return (
        f"SELECT entry_key, question, 1 - (embedding{cast} <=> %s{cast}) FROM cache_vector "  # noqa: S608
        f"WHERE tenant_id = %s AND scope = %s AND dimensions = {int(size)} "
        f"ORDER BY embedding{cast} <=> %s{cast} LIMIT %s"
    )


class PostgresVectors:
    """Rows of every embedding space in one table; `dimensions` picks the HNSW index of its size
    (migration 0005). Sizes are integers from the vector itself, never text from a request."""

    def _add(self, tenant_id: int, scope: str, entry_key: str, question: str, vector) -> None:
        refresh_connections()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO cache_vector (tenant_id, scope, entry_key, question, embedding, dimensions, created_at) "
                "VALUES (%s, %s, %s, %s, %s::vector, %s, now())",
                [tenant_id, scope, entry_key, question[:4000], _literal(vector), len(vector)],
            )

    def _nearest(self, tenant_id: int, scope: str, vector) -> list[Candidate]:
        refresh_connections()
        literal = _literal(vector)
        with connection.cursor() as cursor:
            cursor.execute(_nearest_sql(len(vector)), [literal, tenant_id, scope, literal, CANDIDATES])
            return [Candidate(key, question, float(similarity)) for key, question, similarity in cursor.fetchall()]

    async def add(self, tenant_id: int, scope: str, entry_key: str, question: str, vector) -> None:
        await sync_to_async(self._add)(tenant_id, scope, entry_key, question, vector)

    async def nearest(self, tenant_id: int, scope: str, vector) -> list[Candidate]:
        return await sync_to_async(self._nearest)(tenant_id, scope, vector)

    def purge_tenant(self, tenant_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cache_vector WHERE tenant_id = %s", [tenant_id])


class MemoryVectors:
    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], list[tuple[object, str, str, float]]] = {}
        self._lock = threading.Lock()

    async def add(self, tenant_id: int, scope: str, entry_key: str, question: str, vector) -> None:
        with self._lock:
            rows = self._rows.setdefault((tenant_id, scope), [])
            rows.append((vector, entry_key, question, time.time()))
            del rows[:-MEMORY_PER_SCOPE]

    async def nearest(self, tenant_id: int, scope: str, vector) -> list[Candidate]:
        with self._lock:
            rows = list(self._rows.get((tenant_id, scope), ()))
        scored = sorted(((float(row[0] @ vector), row) for row in rows), key=lambda pair: -pair[0])[:CANDIDATES]
        return [Candidate(row[1], row[2], similarity) for similarity, row in scored]

    def purge_tenant(self, tenant_id: int) -> None:
        with self._lock:
            for scope in [s for s in self._rows if s[0] == tenant_id]:
                del self._rows[scope]


_memory = MemoryVectors()
_postgres = PostgresVectors()


def vectors() -> PostgresVectors | MemoryVectors:
    return _postgres if connection.vendor == "postgresql" else _memory
