"""Where the semantic cache keeps its questions' vectors: PostgreSQL with pgvector (an HNSW index;
the tenant and the request's scope in every WHERE clause), or this process's memory on the
embedded default (SQLite). A vector only points at an exact entry in the hot store; what is
served is that entry, after the ordered check.

On PostgreSQL the queries run on the event loop over a few async connections of their own
(pgvector's binary format, autocommit), not through Django's one sync thread: a lookup and a store
per request would otherwise queue behind each other there (docs/performance.md). The table is
UNLOGGED: it is a cache, rebuilt by traffic, so it writes no WAL."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import psycopg
from django.db import DatabaseError, connection

CANDIDATES = 4  # nearest questions checked per lookup
MEMORY_PER_SCOPE = 2000  # the embedded default keeps the newest this many per tenant and scope
CONNECTIONS = 4  # per process: concurrent vector queries
COPY_ROWS = 2000  # a scope with more vectors is searched in the database (HNSW) every time
COPY_FLOATS = 16_000_000  # what this process's copies of scopes may hold in all (64 MB)


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_key: str
    question: str
    similarity: float


def _nearest_sql(size: int) -> str:
    """The size is written into the SQL (an int, never request text): the partial index needs it there."""
    cast = f"::vector({int(size)})"
    return (
        f"SELECT entry_key, question, 1 - (embedding{cast} <=> %s{cast}) FROM cache_vector "  # noqa: S608
        f"WHERE tenant_id = %s AND scope = %s AND dimensions = {int(size)} AND expires_at > now() "
        f"ORDER BY embedding{cast} <=> %s{cast} LIMIT %s"
    )


_ROWS = (
    "SELECT id, entry_key, question, embedding, extract(epoch FROM expires_at) FROM cache_vector "
    "WHERE tenant_id = %s AND scope = %s AND dimensions = %s AND expires_at > now() ORDER BY id DESC LIMIT %s"
)
CATCH_UP_SLACK = 64  # a copy behind by n vectors fetches the newest n + this many (inserts still being counted)
_ADD = (
    "INSERT INTO cache_vector (tenant_id, scope, entry_key, question, embedding, dimensions, created_at, expires_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, now(), now() + make_interval(secs => %s)) RETURNING id"
)


class _Connections:
    """A few autocommit async connections to Django's database, per event loop."""

    def __init__(self) -> None:
        self._idle: list[psycopg.AsyncConnection] = []
        self._slots = asyncio.Semaphore(CONNECTIONS)

    async def _connect(self) -> psycopg.AsyncConnection:
        from pgvector.psycopg.vector import register_vector_info

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        opened = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        register_vector_info(opened, await psycopg.types.TypeInfo.fetch(opened, "vector"))
        return opened

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._slots:
            opened = self._idle.pop() if self._idle else None
            try:
                if opened is None or opened.closed:
                    opened = await self._connect()
                yield opened
            except psycopg.Error as error:  # the callers know Django's errors
                if opened is not None:
                    await opened.close()
                    opened = None
                raise DatabaseError(str(error)) from error
            finally:
                if opened is not None and not opened.closed:
                    self._idle.append(opened)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = weakref.WeakKeyDictionary()


def _connections() -> _Connections:
    loop = asyncio.get_running_loop()
    if loop not in _per_loop:
        _per_loop[loop] = _Connections()
    return _per_loop[loop]


Row = tuple[int, object, str, str, float]  # (id, vector, entry key, question, expires)


class _Copy:
    """One scope's vectors as rows of a matrix that grows in place, so a search is one product."""

    def __init__(self, count: int, dimensions: int) -> None:
        self.count = count  # the scope's vector count (the hot store's marker) this copy has caught up with
        self.matrix = np.empty((16, dimensions), dtype=np.float32)
        self.expires = np.empty(16, dtype=np.float64)
        self.keys: list[str] = []
        self.questions: list[str] = []
        self.ids: set[int] = set()

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, row: Row) -> bool:
        row_id, vector, key, question, expires = row
        if row_id in self.ids or len(vector) != self.matrix.shape[1]:
            return False
        size = len(self.keys)
        if size == len(self.matrix):
            self.matrix = np.resize(self.matrix, (2 * size, self.matrix.shape[1]))
            self.expires = np.resize(self.expires, 2 * size)
        self.matrix[size], self.expires[size] = vector, expires
        self.keys.append(key)
        self.questions.append(question)
        self.ids.add(row_id)
        return True

    def search(self, vector) -> list[Candidate]:
        size = len(self.keys)
        if not size:
            return []
        similarities = self.matrix[:size] @ vector
        similarities[self.expires[:size] <= time.time()] = -np.inf
        order = np.argsort(-similarities)[:CANDIDATES]
        return [Candidate(self.keys[i], self.questions[i], float(similarities[i])) for i in order
                if similarities[i] > -np.inf]  # fmt: skip


class ScopeCopies:
    """This process's copies of the vectors of recently asked scopes (at most COPY_ROWS each), so
    a lookup in a scope it holds needs no database round trip. The hot store counts each scope's
    vectors, and the entry GET reads that count in the same round trip. A copy made or caught up
    when the count was n holds the vectors counted by n (a vector is INSERTed before it is
    counted). A copy behind the count fetches the newest rows it lacks; a vector it still missed
    (one counted long after it was stored) costs a semantic hit, never a wrong one."""

    def __init__(self) -> None:
        self._copies: OrderedDict[tuple[int, str], _Copy] = OrderedDict()
        self._floats = 0
        self._lock = threading.Lock()
        self._large: OrderedDict[tuple[int, str], None] = OrderedDict()  # scopes past COPY_ROWS: never copied

    def large(self, tenant_id: int, scope: str) -> bool:
        return (tenant_id, scope) in self._large

    def behind(self, tenant_id: int, scope: str, count: int) -> int | None:
        """0: the copy is current; n: it lacks n vectors; None: there is no copy to catch up."""
        with self._lock:
            copy = self._copies.get((tenant_id, scope))
            if copy is None or copy.count > count:
                return None
            self._copies.move_to_end((tenant_id, scope))
            return count - copy.count

    def search(self, tenant_id: int, scope: str, vector) -> list[Candidate]:
        with self._lock:
            copy = self._copies.get((tenant_id, scope))
            return copy.search(vector) if copy is not None else []

    def merge(self, tenant_id: int, scope: str, count: int, rows: list[Row], dimensions: int, *,
              whole: bool = False) -> bool:  # fmt: skip
        """Add rows to the copy (a new copy when `whole`), caught up with `count`. False when the
        scope outgrew COPY_ROWS: it is searched in the database from then on."""
        with self._lock:
            key = (tenant_id, scope)
            if whole:
                self._drop(key)
                self._copies[key] = _Copy(count, dimensions)
            copy = self._copies.get(key)
            if copy is None:
                return False
            for row in rows:
                if copy.add(row):
                    self._floats += dimensions
            copy.count = max(copy.count, count)
            if len(copy) > COPY_ROWS:
                self._outgrown(key)
                return False
            while self._floats > COPY_FLOATS and len(self._copies) > 1:
                self._drop(next(iter(self._copies)))
            return True

    def added(self, tenant_id: int, scope: str, count: int, row: Row) -> None:
        """This process stored a vector, counted as `count`."""
        with self._lock:
            copy = self._copies.get((tenant_id, scope))
            if copy is None or not copy.add(row):
                return
            self._floats += len(row[1])
            if copy.count == count - 1:
                copy.count = count  # nothing else was counted in between: still caught up
            if len(copy) > COPY_ROWS:
                self._outgrown((tenant_id, scope))

    def outgrown(self, tenant_id: int, scope: str) -> None:
        with self._lock:
            self._outgrown((tenant_id, scope))

    def _outgrown(self, key: tuple[int, str]) -> None:
        self._drop(key)
        self._large[key] = None
        while len(self._large) > 10_000:
            self._large.popitem(last=False)

    def _drop(self, key: tuple[int, str]) -> None:
        copy = self._copies.pop(key, None)
        if copy is not None:
            self._floats -= len(copy) * copy.matrix.shape[1]


def _rows(fetched) -> list[Row]:
    return [(row_id, v.to_numpy().astype(np.float32), key, q, float(ends)) for row_id, key, q, v, ends in fetched]


class PostgresVectors:
    """Rows of every embedding space in one table; `dimensions` picks the HNSW index of its size
    (migration 0005). Sizes are integers from the vector itself, never text from a request. A
    scope of at most COPY_ROWS vectors is searched in this process's copy of it (ScopeCopies)."""

    def __init__(self) -> None:
        self.copies = ScopeCopies()

    async def add(self, tenant_id: int, scope: str, entry_key: str, question: str, vector, keep_for: int) -> int:
        """Store a vector; its row id."""
        vector = np.asarray(vector, dtype=np.float32)
        async with _connections().use() as db:
            cursor = await db.execute(
                _ADD, (tenant_id, scope, entry_key, question[:4000], vector, len(vector), keep_for)
            )
            return (await cursor.fetchone())[0]

    def counted(self, tenant_id: int, scope: str, count: int, row_id: int, entry_key: str, question: str, vector,
                keep_for: int) -> None:  # fmt: skip
        """The vector `add` stored (as `row_id`) was counted as `count` in the hot store."""
        row = (row_id, np.asarray(vector, dtype=np.float32), entry_key, question[:4000], time.time() + keep_for)
        self.copies.added(tenant_id, scope, count, row)

    async def nearest(self, tenant_id: int, scope: str, vector, count: int = 0) -> list[Candidate]:
        vector = np.asarray(vector, dtype=np.float32)
        copied = count and not self.copies.large(tenant_id, scope)
        lacking = self.copies.behind(tenant_id, scope, count) if copied else None
        if lacking == 0:
            return self.copies.search(tenant_id, scope, vector)
        async with _connections().use() as db:
            if copied:
                wanted = COPY_ROWS + 1 if lacking is None else lacking + CATCH_UP_SLACK
                cursor = await db.execute(_ROWS, (tenant_id, scope, len(vector), wanted))
                rows = _rows(await cursor.fetchall())
                whole = lacking is None
                if whole and len(rows) > COPY_ROWS:
                    self.copies.outgrown(tenant_id, scope)
                elif self.copies.merge(tenant_id, scope, count, rows, len(vector), whole=whole):
                    return self.copies.search(tenant_id, scope, vector)
            cursor = await db.execute(_nearest_sql(len(vector)), (vector, tenant_id, scope, vector, CANDIDATES))
            found = await cursor.fetchall()
        return [Candidate(key, question, float(similarity)) for key, question, similarity in found]


def expire() -> int:
    """Delete the vectors whose entries have expired (a periodic task); how many went."""
    if connection.vendor != "postgresql":
        return _memory.expire()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cache_vector WHERE expires_at <= now()")
        return cursor.rowcount


class MemoryVectors:
    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], list[tuple[object, str, str, float]]] = {}
        self._lock = threading.Lock()

    async def add(self, tenant_id: int, scope: str, entry_key: str, question: str, vector, keep_for: int) -> int:
        with self._lock:
            rows = self._rows.setdefault((tenant_id, scope), [])
            rows.append((vector, entry_key, question, time.time() + keep_for))
            del rows[:-MEMORY_PER_SCOPE]
            return 0

    def counted(self, *args) -> None:
        """In memory, every process holds its own vectors: nothing to follow."""

    async def nearest(self, tenant_id: int, scope: str, vector, count: int = 0) -> list[Candidate]:
        now = time.time()
        with self._lock:
            rows = [
                row for row in self._rows.get((tenant_id, scope), ()) if row[3] > now and len(row[0]) == len(vector)
            ]
        scored = sorted(((float(row[0] @ vector), row) for row in rows), key=lambda pair: -pair[0])[:CANDIDATES]
        return [Candidate(row[1], row[2], similarity) for similarity, row in scored]

    def expire(self) -> int:
        now, gone = time.time(), 0
        with self._lock:
            for scope, rows in list(self._rows.items()):
                kept = [row for row in rows if row[3] > now]
                gone += len(rows) - len(kept)
                if kept:
                    self._rows[scope] = kept
                else:
                    del self._rows[scope]
        return gone


_memory = MemoryVectors()
_postgres = PostgresVectors()


def vectors() -> PostgresVectors | MemoryVectors:
    return _postgres if connection.vendor == "postgresql" else _memory


async def close() -> None:
    """Close this event loop's vector connections (at shutdown, and in tests)."""
    pool = _per_loop.pop(asyncio.get_running_loop(), None)
    while pool is not None and pool._idle:
        await pool._idle.pop().close()
