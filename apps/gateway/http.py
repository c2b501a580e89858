"""REST transport glue: resolve the caller once, render every ApiError as the SPEC envelope."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import ApiError, InternalError, MethodNotAllowed, ServiceUnavailable, error_response
from apps.core.resp import RedisUnavailable
from apps.observability import tracing
from apps.tenancy.authentication import credential_from_headers
from apps.tenancy.principal import Principal

from .pipeline import Generation, authenticate_credential

logger = logging.getLogger("catalyst.api")

View = Callable[..., Awaitable[HttpResponse]]


def api_endpoint(name: str, methods: tuple[str, ...], *, anthropic: bool = False) -> Callable[[View], View]:
    """Wrap an async view taking (request, principal, ...) with authentication and error rendering.

    `anthropic=True` renders errors in Anthropic's envelope (for /v1/messages).
    """

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            root = tracing.begin(f"catalyst.{name}", request.request_id)
            response = None
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(f"{request.method} is not allowed here; use {', '.join(methods)}.")
                credential = credential_from_headers(
                    request.headers.get("Authorization"), request.headers.get("X-Api-Key")
                )
                with tracing.stage("authenticate"):
                    principal: Principal = await authenticate_credential(
                        credential, name, request.META.get("REMOTE_ADDR")
                    )
                root.set_attribute("catalyst.tenant", principal.tenant_slug)
                response = await view(request, principal, *args, **kwargs)
                return response
            except ApiError as error:
                return error_response(error, request.request_id, anthropic=anthropic)
            except RedisUnavailable:
                logger.error("redis unavailable", extra={"request_id": request.request_id, "endpoint": name})
                return error_response(ServiceUnavailable(), request.request_id, anthropic=anthropic)
            except Exception:
                logger.exception("unhandled error", extra={"request_id": request.request_id, "endpoint": name})
                failure = InternalError("The server failed to process the request.")
                return error_response(failure, request.request_id, anthropic=anthropic)
            finally:
                if not isinstance(response, StreamingHttpResponse):  # a stream's span ends with its last byte
                    tracing.finish(root)

        return wrapper

    return decorate


def generation_headers(response: HttpResponse, generation: Generation, *, with_cost: bool) -> HttpResponse:
    """Model used, cache status and (when known before the body) cost, on every generation response."""
    response["X-Catalyst-Model"] = generation.model.name if generation.model else ""
    if generation.admission is not None:
        for name, value in generation.admission.headers().items():
            response[name] = value
    response["X-Catalyst-Cache"] = "MISS"
    if with_cost:
        response["X-Catalyst-Cost-USD"] = str(generation.cost_usd)
    return response


def json_response(payload: dict, generation: Generation) -> JsonResponse:
    return generation_headers(JsonResponse(payload), generation, with_cost=True)


def sse_response(chunks, generation: Generation) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return generation_headers(response, generation, with_cost=False)
