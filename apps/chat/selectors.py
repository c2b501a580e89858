"""Reads of conversations and messages, always scoped to one tenant and user."""

from __future__ import annotations

from django.db.models import Q

from apps.core import money

from .models import Conversation, Message
from .services import expire_lost_answers, owned_conversation


def conversation_detail(conversation: Conversation) -> dict:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "model": conversation.model,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


def conversations(tenant_id: int, user_id: int, query: str = "", limit: int = 50) -> list[dict]:
    """Newest first; `query` matches titles and message text."""
    rows = Conversation.objects.filter(tenant_id=tenant_id, user_id=user_id)
    if query:
        matching = Message.objects.filter(tenant_id=tenant_id, user_id=user_id, content__icontains=query)
        rows = rows.filter(Q(title__icontains=query) | Q(pk__in=matching.values("conversation_id")))
    return [conversation_detail(c) for c in rows.order_by("-updated_at", "-id")[:limit]]


def messages(tenant_id: int, user_id: int, conversation_id: int) -> list[dict]:
    conversation = owned_conversation(tenant_id, user_id, conversation_id)
    expire_lost_answers(tenant_id, user_id)
    return [
        {
            "id": m.pk,
            "client_id": m.client_id,
            "role": m.role,
            "content": m.content,
            "model": m.model,
            "status": m.status,
            "error_code": m.error_code,
            "tokens_in": m.tokens_in,
            "tokens_out": m.tokens_out,
            "cost_usd": money.usd(m.cost_usd),
            "created_at": m.created_at.isoformat(),
        }
        for m in conversation.messages.order_by("id")
    ]
