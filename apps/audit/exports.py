"""The audit trail as CSV or JSON Lines, streamed row by row, and the story of one request."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from apps.chat.models import Message
from apps.metering.models import UsageRecord

from .models import AuditEntry

COLUMNS = (
    "id", "created_at", "tenant_slug", "actor_type", "actor", "action", "object_type", "object_id", "request_id",
    "payload_digest", "payload", "prev_hash", "hash",
)  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _row(entry: AuditEntry) -> dict:
    row = {name: getattr(entry, name) for name in COLUMNS}
    row["created_at"] = entry.created_at.isoformat()
    return row


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        row = _row(entry)
        row["payload"] = json.dumps(row["payload"], sort_keys=True) if row["payload"] is not None else ""
        yield writer.writerow([row[name] for name in COLUMNS])


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(_row(entry), sort_keys=True, default=str) + "\n"


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
