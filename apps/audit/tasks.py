"""Periodic audit jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import trail
from .checkpoints import take_checkpoint


@shared_task(name="audit.flush", ignore_result=True)
def flush() -> int:
    """Move queued audit events into the chain (every QUEUE_FLUSH_SECONDS with QUEUE_FLUSHER=worker;
    otherwise a backstop for the web processes' flushers)."""
    return trail.queue.drain()


@shared_task(name="audit.checkpoint", ignore_result=True)
def checkpoint() -> int | None:
    """Sign the trail's head every AUDIT_CHECKPOINT_SECONDS, so deleting the newest entries shows.
    Idempotent: nothing is written while the head has not moved. Returns the new checkpoint's id."""
    taken = take_checkpoint()
    return taken.pk if taken is not None else None
