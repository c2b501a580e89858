"""What every generation response carries: the model used, rate-limit state, cache status and
(when known before the body) the cost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from apps.core import money
from apps.core.background import spawn
from apps.gateway import pipeline
from apps.gateway.pipeline import Request


def generation_headers(response: HttpResponse, request: Request, *, with_cost: bool) -> HttpResponse:
    response["X-Catalyst-Model"] = request.model.name if request.model else ""
    if request.admission is not None:
        for name, value in request.admission.headers().items():
            response[name] = value
    response["X-Catalyst-Cache"] = str(request.cache_status)
    if with_cost:
        response["X-Catalyst-Cost-USD"] = money.usd(request.cost_usd)
    return response


def json_response(payload: dict, request: Request) -> JsonResponse:
    return generation_headers(JsonResponse(payload), request, with_cost=True)


class _Body:
    """An SSE body that ends its request if it is never read. A body the server began to read is
    closed by the server (its generators end the request); one it never began (the client left
    between the headers and the first event, or while middleware ran) would hold the upstream open
    and the budget hold unsettled. Django calls `close` when it is done with the response, from a
    worker thread; a response dropped unclosed is caught when it is collected."""

    def __init__(self, chunks: AsyncIterator[bytes], request: Request) -> None:
        self._chunks, self._request = chunks, request
        self._loop = asyncio.get_running_loop()
        self._read = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        self._read = True
        return await anext(self._chunks)

    def close(self) -> None:
        if not self._read:
            self._read = True  # once
            self._loop.call_soon_threadsafe(_abandon, self._request)

    def __del__(self) -> None:
        if not self._read and not self._loop.is_closed():
            self.close()


def _abandon(request: Request) -> None:
    spawn(pipeline.abandon(request), what="abandoned stream")


def sse_response(chunks: AsyncIterator[bytes], request: Request) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_Body(chunks, request), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return generation_headers(response, request, with_cost=False)  # a stream's cost is in its last event
