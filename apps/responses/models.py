"""Responses stored for the OpenAI Responses API (`store: true`, the default), per tenant.

Each keeps the response object as it was returned and the turn it added to its conversation
(the input it was given and its output, as canonical chat messages), so a later request naming it
as `previous_response_id` continues the whole chain. Retention and erasure cover them
(apps/compliance): what people wrote is in them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.tenancy.models import Tenant


class StoredResponse(models.Model):
    id = models.CharField(primary_key=True, max_length=64, help_text="resp_…, as the client saw it.")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_id = models.BigIntegerField(null=True, blank=True, help_text="The user it was made for, if any.")
    key_id = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64)
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    model = models.CharField(max_length=100)
    status = models.CharField(max_length=16)
    body = models.JSONField(help_text="The response object as returned.")
    turn = models.JSONField(help_text="The input it answered and its output, as chat messages.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="response_tenant_time")]

    def __str__(self) -> str:
        return self.id
