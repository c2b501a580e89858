"""Operators' endpoints: /health, /ready, /metrics (Prometheus, bearer token), the OpenAPI
document, and the JSON error pages for API paths."""

from __future__ import annotations

import functools
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.audit import trail
from apps.catalogue.snapshot import current_catalogue
from apps.core.error_codes import ErrorCode
from apps.core.errors import AuthenticationFailed, InternalError, MethodNotAllowed, NotFound
from apps.gateway import breaker, resilience
from apps.metering import recorder
from apps.observability import metrics, readiness

from ..edge import error_response


def _probe(view):
    """A read-only probe: GET and HEAD answer, OPTIONS says so, any other method is 405 with Allow."""

    @csrf_exempt
    @functools.wraps(view)
    async def guarded(request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return await view(request)
        allow = "GET, HEAD, OPTIONS"
        if request.method == "OPTIONS":
            return HttpResponse(status=204, headers={"Allow": allow})
        refused = MethodNotAllowed(f"{request.method} is not allowed here; use GET.", headers={"Allow": allow})
        return error_response(refused, request.request_id)

    return guarded


@_probe
async def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and answering. Readiness (/ready) checks dependencies."""
    return JsonResponse({"status": "ok"})


@_probe
async def ready(request: HttpRequest) -> JsonResponse:
    healthy, checks = await readiness.checks()
    return JsonResponse(
        {"status": "ready" if healthy else "not ready", "checks": checks}, status=200 if healthy else 503
    )


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(supplied.encode(), token.encode())


async def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        refused = AuthenticationFailed(
            "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.", code=ErrorCode.INVALID_METRICS_TOKEN
        )
        return error_response(refused, request.request_id)
    await _read_shared_gauges()
    return HttpResponse(generate_latest(metrics.REGISTRY), content_type=CONTENT_TYPE_LATEST)


async def _read_shared_gauges() -> None:
    """Gauges whose truth lives in shared state, read when scraped: breakers and queue depth."""
    catalogue = await current_catalogue()
    for name, model in catalogue.models.items():
        state = await breaker.state_of(resilience.breaker_key(model))
        metrics.BREAKER.labels(name).set(0 if state == breaker.CLOSED else 1)
    for name, queue in (("usage", recorder.queue), ("audit", trail.queue)):
        metrics.QUEUE_DEPTH.labels(name).set(await queue.depth())


async def openapi_schema(request: HttpRequest) -> JsonResponse:
    from .openapi import schema

    return JsonResponse(schema(), content_type="application/vnd.oai.openapi+json")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(
            NotFound(f"No route for {request.method} {request.path}."), getattr(request, "request_id", None)
        )
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return error_response(
            InternalError("The server failed to process the request."), getattr(request, "request_id", None)
        )
    return html_server_error(request)
