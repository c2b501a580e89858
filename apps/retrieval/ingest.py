"""A file's ingestion into a vector store: its text read piece by piece (extract.py), cut into
chunks (chunking.py), embedded in batches through the embeddings service (the tenant's model,
metered to it, or the local model) and written with the tenant on every row.

It runs as a Celery task in a worker (tasks.py), or, on the embedded default (no broker), in the
web process as a background task whose parsing and local embedding run in threads. It stops
between batches when the attachment was deleted (cancellation), and fails the attachment with a
reason a client can read when the file cannot be read, the embedding call fails or the tier's
chunk quota is reached. The attachment's status is what clients poll."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.core.db import in_db, insert_rows
from apps.core.errors import ApiError
from apps.embeddings.service import embed
from apps.tenancy.models import Tier
from apps.tenancy.principal import Limits, Principal

from . import chunking, extract, files, quotas
from .models import Chunk, FileStatus, IngestStatus, StoredFile, VectorStoreFile

logger = logging.getLogger("catalyst.retrieval")
BATCH = 64  # chunks per embedding call


class Cancelled(Exception):
    pass


class Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def principal_state(principal: Principal) -> dict:
    """The caller, as a Celery task's argument (JSON)."""
    return dataclasses.asdict(principal)


def principal_from(state: dict) -> Principal:
    fields = dict(state)
    for name in ("allowed_models", "allowed_endpoints", "allowed_origins"):
        fields[name] = tuple(fields.get(name) or ())
    if fields.get("limits") is not None:
        fields["limits"] = Limits(**fields["limits"])
    if fields.get("expires_at") is None:
        fields["expires_at"] = float("inf")
    return Principal(**fields)


def _load(attachment_id: int) -> tuple[VectorStoreFile, Tier] | None:
    attachment = VectorStoreFile.objects.select_related("file", "tenant__tier").filter(pk=attachment_id).first()
    if attachment is None or attachment.status != IngestStatus.IN_PROGRESS:
        return None
    return attachment, attachment.tenant.tier


def _batches(attachment: VectorStoreFile, data: bytes) -> Iterator[list[chunking.Piece]]:
    batch: list[chunking.Piece] = []
    texts = extract.pieces(attachment.file.filename, data)
    for piece in chunking.chunks(texts, attachment.max_chunk_tokens, attachment.overlap_tokens):
        batch.append(piece)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _store(attachment: VectorStoreFile, first: int, pieces: list[chunking.Piece], vectors, space: str) -> None:
    """Write a batch, unless the attachment is gone or no longer in progress (cancelled)."""
    rows = [
        {"tenant_id": attachment.tenant_id, "store_id": attachment.store_id, "attachment_id": attachment.pk,
         "position": first + index, "text": piece.text, "tokens": piece.tokens, "dimensions": vectors.shape[1],
         "embedding": vectors[index]}
        for index, piece in enumerate(pieces)
    ]  # fmt: skip
    size = sum(len(piece.text.encode()) + 4 * vectors.shape[1] for piece in pieces)
    try:
        with transaction.atomic():
            updated = VectorStoreFile.objects.filter(pk=attachment.pk, status=IngestStatus.IN_PROGRESS).update(
                chunks=F("chunks") + len(rows), usage_bytes=F("usage_bytes") + size, space=space
            )
            if not updated:
                raise Cancelled
            insert_rows(Chunk, rows)
    except IntegrityError:  # the attachment was deleted between the update and the insert
        raise Cancelled from None


def _finish(attachment_id: int, status: str, code: str = "", message: str = "") -> None:
    attachment = VectorStoreFile.objects.filter(pk=attachment_id, status=IngestStatus.IN_PROGRESS)
    if attachment.update(status=status, error_code=code, error_message=message[:500]):
        file_status = FileStatus.PROCESSED if status == IngestStatus.COMPLETED else FileStatus.ERROR
        StoredFile.objects.filter(attachments__pk=attachment_id).update(status=file_status)
        if status == IngestStatus.FAILED:
            Chunk.objects.filter(attachment_id=attachment_id).delete()
            VectorStoreFile.objects.filter(pk=attachment_id).update(chunks=0, usage_bytes=0)


async def ingest(attachment_id: int, principal: Principal) -> str:
    """Ingest one attachment; returns its final status ("cancelled" when it was deleted)."""
    loaded = await in_db(_load)(attachment_id)
    if loaded is None:
        return IngestStatus.CANCELLED
    attachment, tier = loaded
    try:
        data = await asyncio.to_thread(files.read, attachment.file.storage_name)
        room = await in_db(quotas.chunks_left)(attachment.tenant_id, tier)
        batches, written = _batches(attachment, data), 0
        while True:
            try:
                pieces = await asyncio.to_thread(next, batches, None)
            except extract.Unreadable as error:
                raise Failed("invalid_file", str(error)) from None
            if pieces is None:
                break
            if room is not None and written + len(pieces) > room:
                raise Failed("server_error", f"The tier's chunk quota ({tier.max_chunks}) is reached.")
            try:
                embedded = await embed(principal, [p.text for p in pieces], purpose="retrieval-embeddings",
                                       request_id=f"ingest_{attachment_id}_{written}")  # fmt: skip
            except ApiError as error:
                raise Failed("server_error", f"Embedding failed: {error.message}") from None
            await in_db(_store)(attachment, written, pieces, embedded.vectors, embedded.space)
            written += len(pieces)
    except Cancelled:
        return IngestStatus.CANCELLED
    except Failed as failure:
        await in_db(_finish)(attachment_id, IngestStatus.FAILED, failure.code, failure.message)
        return IngestStatus.FAILED
    except FileNotFoundError:
        await in_db(_finish)(attachment_id, IngestStatus.FAILED, "server_error", "The file's bytes are missing.")
        return IngestStatus.FAILED
    except Exception:
        logger.exception("ingestion failed", extra={"attachment": attachment_id})
        await in_db(_finish)(attachment_id, IngestStatus.FAILED, "server_error", "The file could not be ingested.")
        return IngestStatus.FAILED
    await in_db(_finish)(attachment_id, IngestStatus.COMPLETED)
    return IngestStatus.COMPLETED
