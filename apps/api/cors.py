"""CORS for the API: a browser app on an origin its tenant allows may call Catalyst with a key
meant for it.

Each tenant lists its origins (admin: Tenant → allowed origins). A preflight carries no
credentials, so it is answered for an origin that some tenant allows; the request itself then
gets the CORS headers only when the caller's own tenant allows the origin, so a key of another
tenant is of no use from that page. Errors before authentication (a bad key) carry them for any
allowed origin, so the app can read why. No cookies are involved: credentials are bearer tokens.
"""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from apps.core.db import refresh_connections
from apps.tenancy.models import Tenant
from apps.tenancy.principal import Principal

REFRESH_SECONDS = 5.0  # how stale this process's list of every tenant's origins may be (preflights only)
MAX_AGE_SECONDS = "600"
EXPOSED = (
    "X-Request-Id, X-Client-Request-Id, X-Catalyst-Model, X-Catalyst-Cache, X-Catalyst-Cost-USD, Retry-After, "
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
)
_known: tuple[float, frozenset[str]] = (float("-inf"), frozenset())


def _load_origins() -> frozenset[str]:
    refresh_connections()
    rows = Tenant.objects.exclude(allowed_origins=[]).values_list("allowed_origins", flat=True)
    return frozenset(origin for origins in rows for origin in origins or ())


async def any_tenant_allows(origin: str) -> bool:
    global _known
    checked, origins = _known
    if time.monotonic() - checked >= REFRESH_SECONDS:
        origins = await sync_to_async(_load_origins)()
        _known = (time.monotonic(), origins)
    return origin in origins


async def preflight(request: HttpRequest, methods: tuple[str, ...]) -> HttpResponse:
    """OPTIONS: which methods the path takes, and for an allowed origin, what a browser may send."""
    response = HttpResponse(status=204)
    response["Allow"] = ", ".join((*methods, "OPTIONS"))
    origin = request.headers.get("Origin")
    if origin and await any_tenant_allows(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = response["Allow"]
        asked = request.headers.get("Access-Control-Request-Headers")
        response["Access-Control-Allow-Headers"] = asked or "Authorization, Content-Type, X-Api-Key"
        response["Access-Control-Max-Age"] = MAX_AGE_SECONDS
    response["Vary"] = "Origin, Access-Control-Request-Headers"
    return response


async def decorate(request: HttpRequest, response: HttpResponse, principal: Principal | None) -> HttpResponse:
    origin = request.headers.get("Origin")
    if not origin:
        return response
    allowed = origin in principal.allowed_origins if principal is not None else await any_tenant_allows(origin)
    if allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = EXPOSED
    response["Vary"] = "Origin"
    return response
