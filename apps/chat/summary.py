"""The rolling summary: when a conversation's unsummarised history grows past a threshold, the
cheapest chat model the tenant may use folds the oldest turns (and the previous summary) into a
new summary, which then stands in for them in every later context.

It runs after the answer is sent, through the same pipeline (so it is rate limited, budgeted and
billed like any request), at most once at a time per conversation.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from django.conf import settings

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import current_catalogue
from apps.core.background import spawn
from apps.core.errors import ApiError
from apps.core.redis.hotstore import hot_store
from apps.gateway import pipeline, routing
from apps.providers.types import ChatRequest
from apps.tenancy.principal import Principal

from . import context
from .models import Conversation, MessageStatus

logger = logging.getLogger("catalyst.chat")

INSTRUCTION = (
    "You keep the memory of a conversation. Rewrite the summary below so that it also covers the "
    "new turns. Keep names, numbers, decisions and open questions; drop pleasantries. Answer with "
    "the summary only."
)


def maybe_summarise(principal: Principal, conversation_id: int, request_id: str) -> None:
    spawn(_summarise(principal, conversation_id, request_id), what="conversation summary")


def _pending(conversation_id: int) -> tuple[str, list[tuple[int, str, str]]]:
    """The current summary and every unsummarised, finished turn, oldest first."""
    conversation = Conversation.objects.get(pk=conversation_id)
    rows = conversation.messages.exclude(status__in=[MessageStatus.STREAMING, MessageStatus.FAILED])
    if conversation.summary_through is not None:
        rows = rows.filter(pk__gt=conversation.summary_through)
    return conversation.summary, list(rows.order_by("id").values_list("id", "role", "content"))


def summary_model(catalogue, principal: Principal):
    if settings.CHAT_SUMMARY_MODEL and settings.CHAT_SUMMARY_MODEL in catalogue.models:
        return catalogue.models[settings.CHAT_SUMMARY_MODEL]
    usable = [m for m in routing.models_for(catalogue, principal) if m.kind == ModelKind.CHAT]
    return min(usable, key=lambda m: (m.price_input + m.price_output, m.name), default=None)


async def _summarise(principal: Principal, conversation_id: int, request_id: str) -> None:
    lock = f"chat:summarising:{conversation_id}"
    if not await hot_store().add(lock, "1", 120):
        return
    try:
        previous, turns = await database_sync_to_async(_pending)(conversation_id)
        folded = turns[: -settings.CHAT_SUMMARY_KEEP_MESSAGES] if settings.CHAT_SUMMARY_KEEP_MESSAGES else turns
        model = summary_model(await current_catalogue(), principal)
        if not folded or model is None:
            return
        count = context.counter(model)
        if sum(count(content) for _, _, content in turns) < settings.CHAT_SUMMARY_THRESHOLD_TOKENS:
            return
        transcript = "\n\n".join(f"{role}: {content}" for _, role, content in folded)
        chat = ChatRequest(
            messages=[
                {"role": "system", "content": INSTRUCTION},
                {"role": "user", "content": f"Summary so far:\n{previous or '(none)'}\n\nNew turns:\n{transcript}"},
            ],
            max_tokens=min(model.max_output_tokens, 600),
        )
        request = pipeline.Request(principal, f"{request_id}-summary", "chat", model.name, chat)
        await pipeline.start(request)
        completion = await pipeline.complete(request)
        if completion.text:
            await database_sync_to_async(_save)(conversation_id, completion.text.strip(), folded[-1][0])
    except ApiError as error:  # over a limit or every provider down: try again after the next answer
        logger.info("summary skipped", extra={"conversation": conversation_id, "reason": str(error.code)})
    finally:
        await hot_store().delete(lock)


def _save(conversation_id: int, text: str, through: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(summary=text, summary_through=through)
