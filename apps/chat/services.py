"""Writes to conversations and messages. Synchronous: the consumer calls them through
`database_sync_to_async`, once per chat message, never per token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest, NotFound

from .models import Conversation, Message, MessageStatus, Role

TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class Turn:
    """A new answer to write: where it goes and the history it answers."""

    conversation_id: int
    title: str
    answer_id: int
    summary: str
    history: list[tuple[str, str]]  # (role, content), oldest first, ending with the user's turn


def _title(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def owned_conversation(tenant_id: int, user_id: int, conversation_id: int) -> Conversation:
    conversation = Conversation.objects.filter(pk=conversation_id, tenant_id=tenant_id, user_id=user_id).first()
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.", code=ErrorCode.NOT_FOUND, param="conversation_id")
    return conversation


def find_answer(tenant_id: int, user_id: int, client_id: str) -> Message | None:
    return Message.objects.filter(
        tenant_id=tenant_id, user_id=user_id, client_id=client_id, role=Role.ASSISTANT
    ).first()


def start_turn(
    *,
    tenant_id: int,
    user_id: int,
    client_id: str,
    content: str,
    conversation_id: int | None,
    model: str,
    regenerate: bool,
) -> Turn | Message:
    """Store the user's message and an empty answer, or return the answer this id already has.

    A client that re-sends a message after a reconnect gets the existing answer back, never a
    second one: the id is unique per tenant and user.
    """  # fmt: skip
    existing = find_answer(tenant_id, user_id, client_id)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _start_turn(tenant_id, user_id, client_id, content, conversation_id, model, regenerate)
    except IntegrityError:  # the same id raced in on another connection, or its answer was replaced
        answer = find_answer(tenant_id, user_id, client_id)
        if answer is None:
            raise InvalidRequest("This message id was already used; send a new id.", param="id") from None
        return answer


def _start_turn(tenant_id, user_id, client_id, content, conversation_id, model, regenerate) -> Turn:
    now = timezone.now()
    if conversation_id is None:
        if regenerate:
            raise InvalidRequest("Regenerate needs a conversation_id.", param="conversation_id")
        conversation = Conversation.objects.create(
            tenant_id=tenant_id, user_id=user_id, title=_title(content) or "New conversation", model=model
        )
    else:
        conversation = owned_conversation(tenant_id, user_id, conversation_id)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if regenerate:
        last_user = conversation.messages.filter(role=Role.USER).order_by("-id").first()
        if last_user is None:
            raise InvalidRequest("There is no message to answer again.", param="regenerate")
        conversation.messages.filter(role=Role.ASSISTANT, id__gt=last_user.id).exclude(
            status=MessageStatus.STREAMING
        ).delete()
    else:
        Message.objects.create(
            conversation=conversation, tenant_id=tenant_id, user_id=user_id, client_id=client_id, role=Role.USER,
            content=content, created_at=now, updated_at=now,
        )  # fmt: skip
    answer = Message.objects.create(
        conversation=conversation, tenant_id=tenant_id, user_id=user_id, client_id=client_id, role=Role.ASSISTANT,
        status=MessageStatus.STREAMING, model=model, created_at=now, updated_at=now,
    )  # fmt: skip
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=now, model=model)
    return Turn(conversation.pk, conversation.title, answer.pk, conversation.summary, _history(conversation, answer.pk))


def _history(conversation: Conversation, answer_id: int) -> list[tuple[str, str]]:
    """Every turn after the summary, except answers that failed empty or are still being written."""
    rows = conversation.messages.exclude(pk=answer_id).exclude(status=MessageStatus.STREAMING)
    if conversation.summary_through is not None:
        rows = rows.filter(pk__gt=conversation.summary_through)
    return [
        (role, content)
        for role, content, status in rows.order_by("id").values_list("role", "content", "status")
        if content and status != MessageStatus.FAILED
    ]


def finish_answer(
    answer_id: int,
    *,
    content: str,
    status: str,
    model: str = "",
    request_id: str = "",
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: Decimal = Decimal(0),
    error_code: str = "",
) -> None:
    """Write the answer as it ended: complete, cancelled (the partial text) or failed."""  # fmt: skip
    Message.objects.filter(pk=answer_id).update(
        content=content, status=status, model=model, request_id=request_id, tokens_in=tokens_in,
        tokens_out=tokens_out, cost_usd=cost_usd, error_code=error_code, updated_at=timezone.now(),
    )  # fmt: skip


def mark_interrupted(answer_id: int) -> bool:
    """Mark an answer whose writer is gone as failed; False if it has finished after all."""
    return bool(
        Message.objects.filter(pk=answer_id, status=MessageStatus.STREAMING).update(
            status=MessageStatus.FAILED, error_code=ErrorCode.ANSWER_INTERRUPTED, updated_at=timezone.now()
        )
    )


def expire_lost_answers(tenant_id: int, user_id: int) -> int:
    """Answers left `streaming` by a process that died can never finish: mark them failed."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.GATEWAY_TOTAL_TIMEOUT_SECONDS + 30)
    return Message.objects.filter(
        tenant_id=tenant_id, user_id=user_id, status=MessageStatus.STREAMING, updated_at__lt=cutoff
    ).update(status=MessageStatus.FAILED, error_code=ErrorCode.ANSWER_INTERRUPTED, updated_at=timezone.now())


def rename(tenant_id: int, user_id: int, conversation_id: int, title: str) -> Conversation:
    conversation = owned_conversation(tenant_id, user_id, conversation_id)
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def delete(tenant_id: int, user_id: int, conversation_id: int) -> None:
    owned_conversation(tenant_id, user_id, conversation_id).delete()
