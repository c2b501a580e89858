"""Operator endpoints: /metrics (Prometheus, bearer token) and /ready (dependencies)."""

from __future__ import annotations

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.audit import trail
from apps.catalogue.snapshot import current_catalogue
from apps.core.db import refresh_connections
from apps.core.hotstore import RedisHotStore, hot_store
from apps.gateway import breaker, resilience
from apps.metering import recorder

from . import metrics, providers


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(supplied.encode(), token.encode())


async def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        return JsonResponse(
            {"error": {"message": "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.",
                       "type": "authentication_error", "code": "invalid_metrics_token", "param": None}},
            status=401,
        )  # fmt: skip
    await _read_shared_gauges()
    return HttpResponse(generate_latest(metrics.REGISTRY), content_type=CONTENT_TYPE_LATEST)


async def _read_shared_gauges() -> None:
    catalogue = await current_catalogue()
    for name, model in catalogue.models.items():
        state = await breaker.state_of(resilience.breaker_key(model))
        metrics.BREAKER.labels(name).set(0 if state == breaker.CLOSED else 1)
    for name, queue in (("usage", recorder.queue), ("audit", trail.queue)):
        metrics.QUEUE_DEPTH.labels(name).set(await queue.depth())


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


async def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, migrations are applied, and Redis answers when configured.
    Providers are reported (which ones cannot be reached) but never fail readiness: a provider
    outage is what fallback chains are for, and restarting this instance would not fix it."""
    checks: dict = await sync_to_async(_database_checks)()
    store = hot_store()
    if isinstance(store, RedisHotStore):
        try:
            checks["redis"] = "ok" if await store.connection.execute("PING") == "PONG" else "unexpected reply"
        except Exception as error:
            checks["redis"] = f"unavailable: {type(error).__name__}"
    else:
        checks["redis"] = "not configured (embedded default)"
    healthy = all(value == "ok" or value.startswith("not configured") for value in checks.values())
    if healthy:  # the catalogue needs the database and the hot store
        checks["providers"] = await providers.reachability(await current_catalogue())
    return JsonResponse(
        {"status": "ready" if healthy else "not ready", "checks": checks}, status=200 if healthy else 503
    )
