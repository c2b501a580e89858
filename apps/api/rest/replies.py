"""What every generation response carries: the model used, rate-limit state, cache status and
(when known before the body) the cost."""

from __future__ import annotations

from collections.abc import AsyncIterator

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from apps.core import money
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


def sse_response(chunks: AsyncIterator[bytes], request: Request) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return generation_headers(response, request, with_cost=False)  # a stream's cost is in its last event
