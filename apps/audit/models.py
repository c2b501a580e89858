"""The audit trail: append-only and hash-chained (SPEC C7).

Each entry's hash covers its own fields, the digest of its payload and the previous entry's
hash, so altering, deleting or reordering an entry breaks every later link. The payload itself
is outside the hash (only its digest is in it): erasing a payload for retention or a person's
erasure request leaves the chain verifiable. On PostgreSQL and SQLite triggers refuse every
UPDATE and DELETE except setting a payload to NULL. Checkpoints (below) catch what the chain
cannot: the newest entries deleted, which leaves a shorter chain that still verifies.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

GENESIS = "0" * 64


class ActorType(models.TextChoices):
    API_KEY = "api_key", "API key"
    USER = "user", "User (token)"
    STAFF = "staff", "Staff member"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    event_id = models.CharField(max_length=32, unique=True, help_text="Written once, even if flushed twice.")
    created_at = models.DateTimeField(default=timezone.now)
    # No foreign keys: the trail outlives the tenants, keys and users it mentions.
    tenant_id = models.BigIntegerField(null=True, blank=True)
    tenant_slug = models.CharField(max_length=63, blank=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor = models.CharField(max_length=150, help_text="Key prefix, user id or staff username.")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    payload_digest = models.CharField(max_length=64)
    payload = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["tenant_id", "created_at"], name="audit_tenant_time"),
            models.Index(fields=["request_id"], name="audit_request"),
            models.Index(fields=["action", "created_at"], name="audit_action_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"


class AuditCheckpoint(models.Model):
    """A signed note of the trail's head: deleting the newest entries leaves a valid shorter chain,
    but not the checkpoint that named them. Checkpoints chain by signature, are append-only like
    the entries, and each is also logged and optionally written to a file outside the database."""

    created_at = models.DateTimeField()
    entry_id = models.BigIntegerField(help_text="The newest entry when the checkpoint was taken.")
    count = models.BigIntegerField(help_text="Entries with an id up to entry_id.")
    head_hash = models.CharField(max_length=64, help_text="That entry's hash.")
    prev_signature = models.CharField(max_length=64, blank=True, help_text="The previous checkpoint's signature.")
    signature = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 with AUDIT_CHECKPOINT_KEY.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.pk} (entry #{self.entry_id}, {self.count} entries)"
