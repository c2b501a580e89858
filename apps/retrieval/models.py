"""Files, vector stores and their chunks (OpenAI's Files and Vector Stores API, SPEC C10).

A file's bytes live in Django's storage (local disk by default, any django-storages backend in
production), never in its row. A vector store holds files; each attachment is ingested into
chunks: a chunk's text, its tokens and its embedding, with the tenant on every row so that every
query filters by it. On PostgreSQL the chunks also carry a full-text vector (a generated column)
with a GIN index and an HNSW index per common embedding size (migration 0002); on SQLite the
embedding is a float32 blob and search runs in process (search.py).
"""

from __future__ import annotations

import secrets

import numpy as np
from django.db import models
from django.utils import timezone

from apps.tenancy.models import Tenant


def vector_literal(vector) -> str:
    """pgvector's text form of a vector: '[0.1,0.2,...]'."""
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


class FilePurpose(models.TextChoices):
    ASSISTANTS = "assistants"
    USER_DATA = "user_data"
    BATCH = "batch"


class FileStatus(models.TextChoices):
    UPLOADED = "uploaded"
    PROCESSED = "processed"
    ERROR = "error"


class StoredFile(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default="", editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    purpose = models.CharField(max_length=16, choices=FilePurpose.choices)
    bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=200, editable=False)
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.UPLOADED)
    key_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)  # who uploaded it (erasure)
    user_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Deleted after this (the upload's expires_after)."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "created_at"])]
        verbose_name = "file"

    def __str__(self) -> str:
        return f"{self.public_id} {self.filename}"

    def save(self, *args, **kwargs) -> None:
        self.public_id = self.public_id or new_id("file-")
        super().save(*args, **kwargs)


class VectorStore(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default="", editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="vector_stores")
    name = models.CharField(max_length=256, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    expires_after_days = models.PositiveIntegerField(null=True, blank=True)
    last_active_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "created_at"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.name}".strip()

    def save(self, *args, **kwargs) -> None:
        self.public_id = self.public_id or new_id("vs_")
        super().save(*args, **kwargs)

    @property
    def expires_at(self):
        if self.expires_after_days is None:
            return None
        return self.last_active_at + timezone.timedelta(days=self.expires_after_days)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class IngestStatus(models.TextChoices):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class VectorStoreFile(models.Model):
    """A file attached to a vector store, and how far its ingestion got."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="files")
    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="attachments")
    status = models.CharField(max_length=16, choices=IngestStatus.choices, default=IngestStatus.IN_PROGRESS)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    max_chunk_tokens = models.PositiveIntegerField(default=800)
    overlap_tokens = models.PositiveIntegerField(default=400)
    chunks = models.PositiveIntegerField(default=0)
    space = models.CharField(max_length=140, blank=True, help_text="The embedding model and size of its chunks.")
    usage_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["store", "file"], name="retrieval_one_attachment_per_file")]
        verbose_name = "vector store file"

    def __str__(self) -> str:
        return f"{self.file.filename} in {self.store.public_id}"


class EmbeddingField(models.Field):
    """A float32 vector: pgvector's `vector` (any dimensions) on PostgreSQL, a blob on SQLite."""

    description = "An embedding"

    def db_type(self, connection) -> str:
        return "vector" if connection.vendor == "postgresql" else "blob"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return vector_literal(value)
        return np.asarray(value, dtype=np.float32).tobytes()

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, np.ndarray):
            return value
        if isinstance(value, bytes | memoryview):
            return np.frombuffer(bytes(value), dtype=np.float32)
        return np.asarray(value.strip("[]").split(","), dtype=np.float32)


class Chunk(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="+", db_index=False)
    attachment = models.ForeignKey(VectorStoreFile, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    text = models.TextField()
    tokens = models.PositiveIntegerField()
    dimensions = models.PositiveSmallIntegerField()
    embedding = EmbeddingField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "store"], name="retrieval_chunk_tenant_store")]
        ordering = ["attachment", "position"]

    def __str__(self) -> str:
        return f"chunk {self.position} of {self.attachment_id}"
