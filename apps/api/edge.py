"""The edge every transport passes, so none re-implements it: the credential becomes a Principal,
the request gets its id and root span, and every error becomes the transport's envelope (OpenAI's,
Anthropic's on /v1/messages) or a chat error frame. Transports then only adapt frames.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.chat import frames
from apps.core.errors import ApiError, InternalError, MethodNotAllowed, ServiceUnavailable
from apps.core.redis.protocol import RedisUnavailable
from apps.observability import tracing
from apps.tenancy.authentication import authenticate, authorize, credential_from_headers
from apps.tenancy.principal import Principal

from . import cors

logger = logging.getLogger("catalyst.api")
View = Callable[..., Awaitable[HttpResponse]]
# Failures of a service the gateway needs, not of the request: 503 with Retry-After, never a 500.
SERVICE_DOWN = (RedisUnavailable, RedisConnectionError)


def new_request_id() -> str:
    """Always made here: usage records and audit entries are keyed by it, so no client picks one."""
    return f"req_{uuid.uuid4().hex}"


async def principal_for(credential: str, endpoint: str, client: str | None) -> Principal:
    """Who is calling, allowed to call `endpoint`; `client` is their address (failures are throttled
    by it). A span of the request's root span when there is one (a WebSocket handshake has none)."""
    if not tracing.current().is_recording():
        return _authorised(await authenticate(credential, client), endpoint)
    with tracing.stage("authenticate"):
        return _authorised(await authenticate(credential, client), endpoint)


def _authorised(principal: Principal, endpoint: str) -> Principal:
    authorize(principal, endpoint=endpoint)
    return principal


def begin(name: str, request_id: str):
    """The request's root span: every stage's span hangs from it, in this task and those it spawns."""
    return tracing.begin(f"catalyst.{name}", request_id)


def as_api_error(failure: Exception, where: str, request_id: str | None) -> ApiError:
    """What the client is told about an exception: itself, a 503 for a service down, else a 500."""
    if isinstance(failure, ApiError):
        return failure
    if isinstance(failure, SERVICE_DOWN):
        logger.error("a service the gateway needs is down", extra={"request_id": request_id, "where": where})
        return ServiceUnavailable()
    logger.error("unhandled error", extra={"request_id": request_id, "where": where}, exc_info=failure)
    return InternalError("The server failed to process the request.")


def error_response(error: ApiError, request_id: str | None = None, *, anthropic: bool = False) -> JsonResponse:
    """The error envelope with its status and headers: OpenAI's, or Anthropic's for /v1/messages."""
    response = JsonResponse(error.anthropic_envelope() if anthropic else error.envelope(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="catalyst"'
    if request_id:
        response["X-Request-Id"] = request_id
    return response


def error_frame(error: ApiError, client_id: str | None) -> dict:
    """The same error as a chat (and /v1/generate stream) frame."""
    return frames.error(client_id, error)


def rest(name: str, methods: tuple[str, ...], *, anthropic: bool = False) -> Callable[[View], View]:
    """An async REST view taking (request, principal, ...): the method checked, the caller
    authenticated and authorised for the endpoint `name`, every failure rendered as an envelope
    (`anthropic=True`: Anthropic's), the root span ended with the response (a stream's with its
    last byte)."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "OPTIONS":  # a preflight carries no credentials
                return await cors.preflight(request, methods)
            root = begin(name, request.request_id)
            response, principal = None, None
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                        headers={"Allow": ", ".join((*methods, "OPTIONS"))},
                    )
                credential = credential_from_headers(
                    request.headers.get("Authorization"), request.headers.get("X-Api-Key")
                )
                principal = await principal_for(credential, name, request.META.get("REMOTE_ADDR"))
                root.set_attribute("catalyst.tenant", principal.tenant_slug)
                response = await view(request, principal, *args, **kwargs)
            except Exception as failure:  # every failure leaves as an envelope
                error = as_api_error(failure, name, request.request_id)
                response = error_response(error, request.request_id, anthropic=anthropic)
            finally:
                if not isinstance(response, StreamingHttpResponse):
                    tracing.finish(root)
            return await cors.decorate(request, response, principal)

        return wrapper

    return decorate
