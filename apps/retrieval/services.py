"""What the Files and Vector Stores API does, as plain functions of the caller's tenant. Every
lookup names the tenant: an id of another tenant's object is "not found", never its data. Views
(apps/api/rest/files.py, vector_stores.py) call these off the event loop and render the result."""

from __future__ import annotations

import datetime as dt
import re
import time

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.core.db import in_db
from apps.core.errors import InvalidRequest, NotFound
from apps.embeddings.service import embed
from apps.tenancy.models import Tier
from apps.tenancy.principal import Principal

from . import files, quotas, search
from .models import StoredFile, VectorStore, VectorStoreFile, new_id
from .search import Hit

LIST_LIMIT = 100
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the shape of every id Catalyst makes ("file-…", "vs_…")


def valid_id(public_id: str) -> bool:
    """An id of the shape Catalyst makes; anything else (a NUL, a slash) is never one."""
    return _ID.fullmatch(public_id) is not None


def file_of(tenant_id: int, public_id: str) -> StoredFile:
    found = StoredFile.objects.filter(tenant_id=tenant_id, public_id=public_id).first() if valid_id(public_id) else None
    if found is None:
        raise NotFound(f"No file with id '{public_id[:64]}'.", param="file_id")
    return found


def store_of(tenant_id: int, public_id: str) -> VectorStore:
    found = (
        VectorStore.objects.filter(tenant_id=tenant_id, public_id=public_id).first() if valid_id(public_id) else None
    )
    if found is None:
        raise NotFound(f"No vector store with id '{public_id[:64]}'.", param="vector_store_id")
    return found


def attachment_of(tenant_id: int, store: VectorStore, file_id: str) -> VectorStoreFile:
    found = (
        VectorStoreFile.objects.select_related("file")
        .filter(tenant_id=tenant_id, store=store, file__public_id=file_id)
        .first()
        if valid_id(file_id)
        else None
    )
    if found is None:
        raise NotFound(f"The vector store holds no file with id '{file_id[:64]}'.", param="file_id")
    return found


def page(rows, limit: int, order: str, after: int | None, before: int | None) -> tuple[list, bool]:
    """A cursor page by primary key (ids grow with creation): `after` and `before` are rows' keys."""
    rows = rows.order_by("pk" if order == "asc" else "-pk")
    if after is not None:
        rows = rows.filter(pk__gt=after) if order == "asc" else rows.filter(pk__lt=after)
    if before is not None:
        rows = rows.filter(pk__lt=before) if order == "asc" else rows.filter(pk__gt=before)
    found = list(rows[: limit + 1])
    return found[:limit], len(found) > limit


# --- files -----------------------------------------------------------------------------------


def create_file(principal: Principal, tier_name: str, filename: str, purpose: str, data: bytes,
                content_type: str, expires_after: int | None) -> StoredFile:  # fmt: skip
    tier = Tier.objects.get(name=tier_name)
    quotas.check_upload(principal.tenant_id, tier, len(data))
    row = StoredFile(
        tenant_id=principal.tenant_id, filename=filename, purpose=purpose, bytes=len(data), content_type=content_type,
        key_id=principal.key_id, user_id=principal.user_id,
        expires_at=timezone.now() + dt.timedelta(seconds=expires_after) if expires_after else None,
    )  # fmt: skip
    row.public_id = new_id("file-")
    row.storage_name, row.sha256 = files.save(principal.tenant_id, row.public_id, data)
    try:
        row.save()
    except Exception:
        files.delete(row.storage_name)
        raise
    return row


def delete_file(tenant_id: int, public_id: str) -> None:
    """The file, its attachments and their chunks; its bytes once the rows are gone."""
    row = file_of(tenant_id, public_id)
    with transaction.atomic():
        delete_files(StoredFile.objects.filter(pk=row.pk))


def delete_files(rows) -> int:
    """Delete these files with their attachments and chunks; their bytes once the transaction
    commits (retention and erasure run inside one). Returns how many went."""
    names = list(rows.values_list("storage_name", flat=True))
    VectorStoreFile.objects.filter(file__in=rows).delete()
    rows.delete()
    transaction.on_commit(lambda: [files.delete(name) for name in names])
    return len(names)


def file_content(tenant_id: int, public_id: str) -> tuple[StoredFile, bytes]:
    row = file_of(tenant_id, public_id)
    return row, files.read(row.storage_name)


# --- vector stores ---------------------------------------------------------------------------


def store_state(store: VectorStore) -> dict:
    """Status, file counts and bytes of a store, as OpenAI reports them."""
    counts = dict.fromkeys(("in_progress", "completed", "failed", "cancelled"), 0)
    usage = 0
    for row in (
        VectorStoreFile.objects.filter(store=store).values("status").annotate(n=Count("pk"), b=Sum("usage_bytes"))
    ):
        counts[row["status"]] += row["n"]
        usage += row["b"] or 0
    status = "expired" if store.expired else ("in_progress" if counts["in_progress"] else "completed")
    return {"status": status, "file_counts": {**counts, "total": sum(counts.values())}, "usage_bytes": usage}


def create_store(principal: Principal, name: str, metadata: dict, expires_after_days: int | None,
                 file_ids: list[str], chunking: tuple[int, int]) -> tuple[VectorStore, list[int]]:  # fmt: skip
    with transaction.atomic():
        store = VectorStore.objects.create(
            tenant_id=principal.tenant_id, name=name, metadata=metadata, expires_after_days=expires_after_days
        )
        attached = [attach(principal.tenant_id, store, file_id, {}, chunking).pk for file_id in file_ids]
    return store, attached


def update_store(tenant_id: int, public_id: str, fields: dict) -> VectorStore:
    store = store_of(tenant_id, public_id)
    for name, value in fields.items():
        setattr(store, name, value)
    store.save()
    return store


def delete_store(tenant_id: int, public_id: str) -> None:
    store_of(tenant_id, public_id).delete()  # its attachments and chunks go with it


def attach(
    tenant_id: int, store: VectorStore, file_id: str, attributes: dict, chunking: tuple[int, int]
) -> VectorStoreFile:
    stored = file_of(tenant_id, file_id)
    if stored.purpose == "batch":
        raise InvalidRequest(
            "A file uploaded for batches cannot be searched; upload it for 'assistants'.", param="file_id"
        )
    existing = VectorStoreFile.objects.filter(store=store, file=stored).first()
    if existing is not None:
        return existing
    return VectorStoreFile.objects.create(
        tenant_id=tenant_id, store=store, file=stored, attributes=attributes,
        max_chunk_tokens=chunking[0], overlap_tokens=chunking[1],
    )  # fmt: skip


def detach(tenant_id: int, store: VectorStore, file_id: str) -> None:
    attachment_of(tenant_id, store, file_id).delete()  # its chunks go with it; the file stays


def attachments(tenant_id: int, store: VectorStore, status: str | None):
    rows = VectorStoreFile.objects.select_related("file").filter(tenant_id=tenant_id, store=store)
    return rows.filter(status=status) if status else rows


def touch(store_ids: list[int]) -> None:
    VectorStore.objects.filter(pk__in=store_ids).update(last_active_at=timezone.now())


async def find(principal: Principal, request_id: str, store_ids: list[str], queries: list[str], limit: int,
               filters: dict | None) -> tuple[list[Hit], dict[int, VectorStoreFile]]:  # fmt: skip
    """The best chunks of the caller's stores for the queries, and the attachments they come from."""
    tenant_id = principal.tenant_id

    def stores() -> list[int]:
        found = [store_of(tenant_id, public_id) for public_id in store_ids]
        for store in found:
            if store.expired:
                raise InvalidRequest(f"The vector store '{store.public_id}' has expired.", param="vector_store_id")
        return [store.pk for store in found]

    keys = await in_db(stores)()
    query = "\n".join(queries)
    embedded = await embed(principal, [query], purpose="retrieval-search", request_id=request_id)

    def found() -> tuple[list[Hit], dict[int, VectorStoreFile]]:
        allowed = search.allowed_attachments(tenant_id, keys, embedded.space, filters)
        rows = sum(attachment.chunks for attachment in allowed.values())
        hits = search.search(tenant_id, keys, list(allowed), embedded.vectors[0], query, limit, rows)
        touch(keys)
        return hits, allowed

    return await in_db(found)()


DEFAULT_KEY = "default_for_use_case"  # a store's metadata: the use case it answers by default
DEFAULTS_SECONDS = 10.0
_defaults: dict[int, tuple[float, dict[str, list[str]]]] = {}


async def default_stores(tenant_id: int, use_case: str) -> list[str]:
    """The stores a tenant marked (metadata `default_for_use_case`) as the default for a use case
    ("default": requests that name none). Read at most every 10 s per tenant and process, so an
    `auto` request without them costs a dictionary lookup."""
    now = time.monotonic()
    known = _defaults.get(tenant_id)
    if known is None or now - known[0] > DEFAULTS_SECONDS:

        def marked() -> dict[str, list[str]]:
            found: dict[str, list[str]] = {}
            rows = VectorStore.objects.filter(tenant_id=tenant_id, metadata__has_key=DEFAULT_KEY).order_by("pk")
            for public_id, metadata in rows.values_list("public_id", "metadata"):
                found.setdefault(str(metadata.get(DEFAULT_KEY)), []).append(public_id)
            return found

        known = (now, await in_db(marked)())
        _defaults[tenant_id] = known
    return known[1].get(use_case or "default", [])[:10]


async def recent_stores(tenant_id: int, limit: int = 10) -> list[str]:
    """The tenant's live stores that were searched or changed last (a tool's search when it names none)."""

    def recent() -> list[str]:
        rows = VectorStore.objects.filter(tenant_id=tenant_id).order_by("-last_active_at", "-pk")[: limit * 2]
        return [store.public_id for store in rows if not store.expired][:limit]

    return await in_db(recent)()
