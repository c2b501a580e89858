"""Periodic audit jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import trail
from .retention import purge_expired


@shared_task(name="audit.flush", ignore_result=True)
def flush() -> int:
    """Move queued audit events into the chain (every QUEUE_FLUSH_SECONDS with QUEUE_FLUSHER=worker;
    otherwise a backstop for the web processes' flushers)."""
    return trail.queue.drain()


@shared_task(name="audit.purge_expired")
def purge_expired_task() -> dict:
    """Drop chat messages and stored audit payloads past each tenant's retention period."""
    return purge_expired()
