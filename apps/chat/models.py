"""Conversations and their messages, per tenant and user (SPEC C5)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.tenancy.models import Tenant


class Conversation(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200)
    model = models.CharField(max_length=100, blank=True)
    # The rolling summary replaces every message up to and including `summary_through` in the context.
    summary = models.TextField(blank=True)
    summary_through = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["tenant", "user", "-updated_at"], name="conversation_owner_recent")]

    def __str__(self) -> str:
        return self.title


class Role(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class MessageStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    STREAMING = "streaming", "Streaming"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class Message(models.Model):
    """One turn. A user message and the answer to it share the client's message id (`client_id`)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_id = models.BigIntegerField()
    client_id = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.COMPLETE)
    error_code = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=100, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    tokens_in = models.IntegerField(default=0)
    tokens_out = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=8, default=Decimal(0))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_id", "client_id", "role"], name="message_client_id_once")
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.client_id}"
