"""Periodic metering jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import ledger


@shared_task(name="metering.reconcile_reservations")
def reconcile_reservations() -> int:
    """Settle reservations whose request never settled (a crashed process). Idempotent."""
    return ledger.reconcile()


@shared_task(name="metering.flag_cost_anomalies")
def flag_cost_anomalies(day: str | None = None) -> int:
    """Alert on yesterday's spend (or `day`, ISO date) when it is over 3x the trailing average."""
    import datetime as dt

    from django.utils import timezone

    from .anomalies import flag_anomalies

    target = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    return len(flag_anomalies(target))
