"""Database connection upkeep for code the lean API handler runs (it sends no request signals)."""

from __future__ import annotations

from django.db import connections


def refresh_connections() -> None:
    """What Django's request_started receiver does: drop a broken or expired connection before use.

    Connections inside an atomic block (a test's transaction, a caller's transaction) are left
    alone; closing them would break the transaction.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
