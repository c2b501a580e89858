"""Periodic cache jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import vectors


@shared_task(name="cache.expire_vectors")
def expire_vectors_task() -> int:
    """Delete the semantic cache's vectors whose entries have expired (and their questions' text)."""
    return vectors.expire()
