"""Periodic compliance jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .retention import purge_expired


@shared_task(name="audit.purge_expired")
def purge_expired_task() -> dict:
    """Drop chat messages and stored audit payloads past each tenant's retention period."""
    return purge_expired()
