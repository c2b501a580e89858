"""A lean Django ASGI handler for the API paths (SPEC invariant 6: no sync-to-async hops).

Django's stock ASGIHandler runs every request in a fresh ThreadSensitiveContext, sends
request_started/finished through sync receivers in a thread, closes the response in a thread,
and adapts each MiddlewareMixin middleware with two more thread hops: a dozen hops and ~3 ms per
request on these machines before any view code runs. The API needs none of the session, CSRF,
auth or message middleware (it authenticates bearer credentials itself), so this handler runs
the same URLconf and views with only natively async middleware, reads the body into memory
under the size limit, and keeps all thread-sensitive work on Django's one shared sync thread,
where the database connection persists. See docs/adr/0005-lean-api-handler-and-sdk-request-layer.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix
from django.utils.module_loading import import_string

from apps.core.errors import PayloadTooLarge

from .edge import error_response, new_request_id


class ApiASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response_async)
        for path in reversed(settings.API_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if not iscoroutinefunction(middleware):
                raise RuntimeError(f"{path} is not natively async; the API handler refuses thread hops.")
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler

    async def __call__(self, scope, receive, send) -> None:
        await self.handle(scope, receive, send)

    async def read_body(self, receive, limit: int | None = None) -> io.BytesIO:
        body = io.BytesIO()
        limit = limit or settings.GATEWAY_MAX_BODY_BYTES
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            body.write(message.get("body", b""))
            if body.tell() > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            if not message.get("more_body", False):
                break
        body.seek(0)
        return body

    async def handle(self, scope, receive, send) -> None:
        try:
            # An upload to /v1/files may be larger than any JSON body (FILES_MAX_BYTES).
            limit = settings.FILES_MAX_BYTES if scope["path"] == "/v1/files" else None
            body = await self.read_body(receive, limit)
        except RequestAborted:
            return
        except PayloadTooLarge as error:
            anthropic = scope["path"].startswith("/v1/messages")
            await self.send_response(error_response(error, new_request_id(), anthropic=anthropic), send)
            return
        set_script_prefix(get_script_prefix(scope))
        request, early = self.create_request(scope, body)
        if request is None:
            await self.send_response(early, send)
            return

        async def process_request() -> None:
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while we were sending
            finally:
                response.close()

        # A client that disconnects cancels the view, and with it any upstream call.
        listener = asyncio.create_task(self.listen_for_disconnect(receive))
        worker = asyncio.create_task(process_request())
        await asyncio.wait([listener, worker], return_when=asyncio.FIRST_COMPLETED)
        for task in (listener, worker):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                await task
