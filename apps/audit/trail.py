"""Writing the audit trail: build an event where something happens, append it to the chain.

Request-path events (`record`) are queued in Redis and appended by a flusher (never on the
request's path, never dropped); without Redis they are appended at once. Staff and service
actions (`record_now`) are appended inside the caller's transaction, so a change and its audit
entry commit together. Appending takes a lock (an advisory lock on PostgreSQL), reads the last
hash and chains each new entry to it, so concurrent writers cannot fork the chain.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.core.db import insert_rows, refresh_connections
from apps.core.redis.hotstore import MemoryHotStore, RedisHotStore, per_store
from apps.core.redis.queue import DurableQueue

from .chain import digest, entry_hash
from .models import GENESIS, AuditEntry

ADVISORY_LOCK = 0x41554449  # "AUDI"
logger = logging.getLogger("catalyst.audit")


def event(
    action: str,
    *,
    actor_type: str,
    actor: str,
    tenant_id: int | None = None,
    tenant_slug: str = "",
    object_type: str = "",
    object_id: object = "",
    request_id: str = "",
    payload: dict | None = None,
    keep_payload: bool = True,
) -> dict:
    """One audit event. The payload's digest is always chained; the payload is kept unless told not to."""  # fmt: skip
    payload = plain(payload or {})
    return {
        "event_id": uuid.uuid4().hex,
        "created_at": timezone.now().isoformat(),
        "tenant_id": tenant_id,
        "tenant_slug": tenant_slug or "",
        "actor_type": actor_type,
        "actor": str(actor)[:150],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:128],
        "request_id": request_id or "",
        "payload_digest": digest(payload),
        "payload": payload if keep_payload else None,
    }


def plain(payload: dict) -> dict:
    """The payload as plain JSON that every database stores: decimals and dates as strings, lone
    surrogates replaced, NUL (which PostgreSQL's jsonb refuses) as U+FFFD."""
    text = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8", "replace").decode("utf-8")
    return json.loads(text.replace("\\u0000", "\\ufffd"))


def append(events: list[dict]) -> int:
    """Chain and store the events not stored yet, in order. Returns how many were new."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        stored = set(
            AuditEntry.objects.filter(event_id__in=[e["event_id"] for e in events]).values_list("event_id", flat=True)
        )
        previous = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        rows = []
        for item in events:
            if item["event_id"] in stored:
                continue
            stored.add(item["event_id"])
            fields = {**item, "created_at": dt.datetime.fromisoformat(item["created_at"])}
            current = entry_hash(fields, previous)
            rows.append({**fields, "prev_hash": previous, "hash": current})
            previous = current
        insert_rows(AuditEntry, rows)
    return len(rows)


def _write(raw: list[str]) -> None:
    """Append a queued batch. An entry the database refuses must not hold up the ones behind it:
    on failure, entries go one by one, and one still refused is kept without its payload (its
    digest stays in the chain)."""
    refresh_connections()
    events = [json.loads(item) for item in raw]
    try:
        append(events)
        return
    except DatabaseError:
        logger.exception("audit batch refused; appending entry by entry")
    for item in events:
        try:
            append([item])
        except DatabaseError:
            logger.exception("audit entry refused; kept without its payload", extra={"event": item["event_id"]})
            append([{**item, "payload": None}])


queue = DurableQueue("audit", _write)


class QueuedTrail:
    """With Redis: request-path events wait in the durable queue and are appended in batches."""

    def __init__(self, store: RedisHotStore) -> None:
        pass

    async def record(self, item: dict) -> None:
        await queue.push(json.dumps(item, default=str, separators=(",", ":")))


class DirectTrail:
    """The embedded default: each event is appended at once (SQLite, one process)."""

    def __init__(self, store: MemoryHotStore) -> None:
        pass

    async def record(self, item: dict) -> None:
        await sync_to_async(_append_fresh)([item])


_trail = per_store(redis=QueuedTrail, memory=DirectTrail)


async def record(item: dict) -> None:
    """Append a request-path event: queued in Redis and flushed in batches, or at once without Redis."""
    await _trail().record(item)


def _append_fresh(events: list[dict]) -> int:
    refresh_connections()
    return append(events)


def record_now(item: dict) -> None:
    """Append a staff or service action inside the caller's transaction (it commits with the change)."""
    append([item])


def record_change(action: str, *, tenant, obj=None, payload: dict | None = None, by=None) -> None:
    """A change to a tenant, key, membership or user, made by staff (`by`) or by the system."""
    record_now(
        event(
            action,
            actor_type="staff" if by is not None else "system",
            actor=by.get_username() if by is not None else "system",
            tenant_id=tenant.pk if tenant is not None else None,
            tenant_slug=tenant.slug if tenant is not None else "",
            object_type=obj._meta.label if obj is not None else "",
            object_id=obj.pk if obj is not None else "",
            payload=payload,
        )
    )
