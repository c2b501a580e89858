"""Periodic audit jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from asgiref.sync import async_to_sync
from celery import shared_task

from . import trail
from .retention import purge_expired


@shared_task(name="audit.flush")
def flush() -> int:
    """Backstop for the in-process flushers: move queued audit events into the chain."""
    return async_to_sync(trail.queue.flush_all)()


@shared_task(name="audit.purge_expired")
def purge_expired_task() -> dict:
    """Drop chat messages and stored audit payloads past each tenant's retention period."""
    return purge_expired()
