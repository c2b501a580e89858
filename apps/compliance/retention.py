"""Retention and erasure of what people wrote: chat messages, the payloads the audit trail keeps,
and the files they uploaded (apps/retrieval).

Both only ever delete chat rows and set audit payloads to NULL (the one change the append-only
trigger allows); each entry's digest stays in the chain, so verification still holds. Each run
is itself recorded in the trail.
"""

from __future__ import annotations

import datetime as dt

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.trail import queue, record_change
from apps.chat.models import Conversation, Message
from apps.responses.models import StoredResponse
from apps.retrieval import services as retrieval
from apps.retrieval.models import StoredFile
from apps.tenancy.models import ApiKey, Tenant


def purge_expired(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """For every tenant with a retention period: delete older chat messages (and conversations
    left empty) and drop older audit payloads. For every tenant: delete the files past their
    expiry (an upload's `expires_after`). Returns what went, per tenant slug."""
    now = now or timezone.now()
    report = {}
    for tenant in Tenant.objects.filter(files__expires_at__lte=now).distinct():
        with transaction.atomic():
            gone = retrieval.delete_files(StoredFile.objects.filter(tenant=tenant, expires_at__lte=now))
            record_change("retention.files", tenant=tenant, payload={"files": gone, "before": now.isoformat()})
        report[tenant.slug] = {"files": gone}
    for tenant in Tenant.objects.exclude(retention_days=None):
        cutoff = now - dt.timedelta(days=tenant.retention_days)
        with transaction.atomic():
            messages = Message.objects.filter(tenant=tenant, created_at__lt=cutoff).delete()[0]
            conversations = Conversation.objects.filter(tenant=tenant, messages__isnull=True).delete()[0]
            responses = StoredResponse.objects.filter(tenant=tenant, created_at__lt=cutoff).delete()[0]
            payloads = AuditEntry.objects.filter(
                tenant_id=tenant.pk, created_at__lt=cutoff, payload__isnull=False
            ).update(payload=None)
            counts = {
                "messages": messages, "conversations": conversations, "responses": responses,
                "audit_payloads": payloads,
            }  # fmt: skip
            if any(counts.values()):
                record_change("retention.purge", tenant=tenant, payload={**counts, "before": cutoff.isoformat()})
        report[tenant.slug] = {**report.get(tenant.slug, {}), **counts}
    return report


def erase_user(*, tenant: Tenant, user, by=None) -> dict[str, int]:
    """Erase one person's conversations and the payloads stored about their requests in a tenant.

    Entries still queued in Redis are written first, so none lands after the erasure with a prompt."""
    async_to_sync(queue.flush_all)()
    with transaction.atomic():
        return _erase(tenant, user, by)


def _erase(tenant: Tenant, user, by) -> dict[str, int]:
    conversations = Conversation.objects.filter(tenant=tenant, user=user)
    counts = {"messages": Message.objects.filter(conversation__in=conversations).count()}
    counts["conversations"] = conversations.count()
    conversations.delete()
    keys = ApiKey.objects.filter(tenant=tenant, user=user).values_list("pk", flat=True)
    mine_responses = StoredResponse.objects.filter(Q(user_id=user.pk) | Q(key_id__in=list(keys)), tenant=tenant)
    counts["responses"] = mine_responses.delete()[0]
    uploaded = StoredFile.objects.filter(Q(user_id=user.pk) | Q(key_id__in=list(keys)), tenant=tenant)
    counts["files"] = retrieval.delete_files(uploaded)
    mine = Q(actor_type="user", actor=f"user:{user.pk}") | Q(actor_type="api_key", payload__user_id=user.pk)
    counts["audit_payloads"] = AuditEntry.objects.filter(mine, tenant_id=tenant.pk, payload__isnull=False).update(
        payload=None
    )
    record_change("erasure.user", tenant=tenant, obj=user, payload=counts, by=by)
    return counts
