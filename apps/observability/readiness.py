"""Readiness: what /ready reports about this instance's dependencies."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from apps.catalogue.snapshot import current_catalogue
from apps.core.db import refresh_connections
from apps.core.redis.hotstore import hot_store

from . import providers

_migrated = False


def _database_checks() -> dict[str, str]:
    global _migrated
    refresh_connections()
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return {"database": f"unavailable: {type(error).__name__}", "migrations": "unknown"}
    if not _migrated:  # once applied, they stay applied for this process
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return {"database": "ok", "migrations": "ok" if _migrated else "pending"}


async def checks() -> tuple[bool, dict]:
    """The database answers, migrations are applied, and Redis answers when configured: ready.
    Providers are reported (which ones cannot be reached) but never fail readiness: a provider
    outage is what fallback chains are for, and restarting this instance would not fix it."""
    found: dict = await sync_to_async(_database_checks)()
    found["redis"] = await hot_store().health()
    healthy = all(value == "ok" or value.startswith("not configured") for value in found.values())
    if healthy:  # the catalogue needs the database and the hot store
        found["providers"] = await providers.reachability(await current_catalogue())
    return healthy, found
