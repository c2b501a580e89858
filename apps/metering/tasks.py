"""Periodic metering jobs (Celery beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import ledger


@shared_task(name="metering.reconcile_reservations")
def reconcile_reservations() -> int:
    """Settle reservations whose request never settled (a crashed process). Idempotent."""
    return ledger.reconcile()
