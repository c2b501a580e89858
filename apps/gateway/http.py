"""REST transport glue: resolve the caller once, render every ApiError as the SPEC envelope."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import ApiError, InternalError, MethodNotAllowed, error_response
from apps.tenancy.authentication import authenticate, authorize, credential_from_headers
from apps.tenancy.principal import Principal

logger = logging.getLogger("catalyst.api")

View = Callable[..., Awaitable[HttpResponse]]


def api_endpoint(name: str, methods: tuple[str, ...]) -> Callable[[View], View]:
    """Wrap an async view taking (request, principal, ...) with authentication and error rendering."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(f"{request.method} is not allowed here; use {', '.join(methods)}.")
                credential = credential_from_headers(
                    request.headers.get("Authorization"), request.headers.get("X-Api-Key")
                )
                principal: Principal = await authenticate(credential)
                authorize(principal, endpoint=name)
                return await view(request, principal, *args, **kwargs)
            except ApiError as error:
                return error_response(error, request.request_id)
            except Exception:
                logger.exception("unhandled error", extra={"request_id": request.request_id, "endpoint": name})
                return error_response(InternalError("The server failed to process the request."), request.request_id)

        return wrapper

    return decorate
