"""Health probe and the JSON error pages for API paths."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from .errors import InternalError, NotFound, error_response


async def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and answering. Readiness (/ready) checks dependencies."""
    return JsonResponse({"status": "ok"})


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


async def openapi_schema(request: HttpRequest) -> JsonResponse:
    from apps.gateway.openapi import schema

    return JsonResponse(schema(), content_type="application/vnd.oai.openapi+json")
