"""Ingestion as Celery tasks: one per attached file. Without a broker (the embedded default) the
web process runs it as a background task instead (schedule())."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings

from apps.core import background
from apps.tenancy.principal import Principal

from .ingest import ingest, principal_from, principal_state


@shared_task(name="retrieval.ingest", acks_late=True, ignore_result=True)
def ingest_file(attachment_id: int, principal: dict) -> str:
    return async_to_sync(ingest)(attachment_id, principal_from(principal))


def schedule(attachment_ids: list[int], principal: Principal) -> None:
    """Ingest each attachment in a worker, or here when there is no broker."""
    for attachment_id in attachment_ids:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            background.spawn(ingest(attachment_id, principal), what="retrieval.ingest")
        else:
            ingest_file.delay(attachment_id, principal_state(principal))
