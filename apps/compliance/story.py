"""The story of one request, for compliance staff: everything recorded about it that they may see."""

from __future__ import annotations

from apps.audit.models import AuditEntry
from apps.chat.models import Message
from apps.metering.models import UsageRecord


def request_story(request_id: str, *, see_usage: bool, see_chat: bool) -> dict:
    """Everything recorded about one request that this reader may see: who and what (audit); the
    money (usage record) for staff who may view usage; the chat turn it answered for staff who may
    view chat messages, and its words (the conversation's title is the first prompt) only when
    the tenant keeps prompts."""
    story: dict = {
        "request_id": request_id,
        "entries": list(AuditEntry.objects.filter(request_id=request_id).order_by("id")),
    }
    story["usage"] = (
        UsageRecord.objects.filter(request_id=request_id).select_related("tenant", "key").first() if see_usage else None
    )
    message = (
        Message.objects.filter(request_id=request_id).select_related("conversation", "tenant").first()
        if see_chat
        else None
    )
    story["message"] = message
    story["show_words"] = message is not None and message.tenant.keep_prompts
    story["hidden"] = [part for part, seen in (("usage", see_usage), ("chat", see_chat)) if not seen]
    return story
