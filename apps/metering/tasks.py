"""Periodic metering jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from asgiref.sync import async_to_sync
from celery import shared_task

from . import recorder


@shared_task(name="metering.flush_usage")
def flush_usage() -> int:
    """Backstop for the in-process flushers: move queued usage records into the database."""
    return async_to_sync(recorder.flush_all)()


@shared_task(name="metering.flag_cost_anomalies")
def flag_cost_anomalies(day: str | None = None) -> int:
    """Alert on yesterday's spend (or `day`, ISO date) when it is over 3x the trailing average."""
    import datetime as dt

    from django.utils import timezone

    from .anomalies import flag_anomalies

    target = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    return len(flag_anomalies(target))
