"""Periodic metering jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import recorder


@shared_task(name="metering.flush_usage", ignore_result=True)
def flush_usage() -> int:
    """Move queued usage records into the database (every QUEUE_FLUSH_SECONDS with
    QUEUE_FLUSHER=worker; otherwise a backstop for the web processes' flushers)."""
    return recorder.queue.drain()


@shared_task(name="metering.flag_cost_anomalies")
def flag_cost_anomalies(day: str | None = None) -> int:
    """Alert on yesterday's spend (or `day`, ISO date) when it is over 3x the trailing average."""
    import datetime as dt

    from django.utils import timezone

    from .anomalies import flag_anomalies

    target = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    return len(flag_anomalies(target))
