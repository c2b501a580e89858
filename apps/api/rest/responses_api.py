"""The OpenAI Responses API: create (JSON or events), retrieve and delete stored responses.

A response runs the same pipeline as a chat completion (limits, budgets, fallback to any provider
kind, audit); `previous_response_id` continues a stored response's whole chain, and `store`
(the default) keeps this one, tenant-scoped, for retention and erasure to cover.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.cache import controls as cache_controls
from apps.gateway import pipeline
from apps.gateway.pipeline import StreamFailure
from apps.responses import services
from apps.tenancy.principal import Principal

from ..edge import rest
from ..formats import responses
from ..formats.validation import json_body, validated
from .replies import json_response, sse_response


@rest("responses", methods=("POST",))
async def create(http: HttpRequest, principal: Principal) -> HttpResponse:
    wire = validated(responses.ResponsesRequest, json_body(http))
    history = []
    if wire.previous_response_id:
        history = await sync_to_async(services.history)(principal.tenant_id, wire.previous_response_id)
    request = pipeline.Request(
        principal, http.request_id, "responses", wire.model, wire.to_chat(history), stream=wire.stream
    )
    request.cache_controls = cache_controls.from_headers(http.headers)
    await pipeline.start(request)
    if wire.stream:
        return sse_response(_events(request, wire), request)
    completion = await pipeline.complete(request)
    status, reason = responses.final_status(completion)
    body = responses.body(request, wire, responses.output_items(request, completion), status, incomplete=reason)
    await _keep(request, wire, body, responses.turn_messages(wire, completion))
    return json_response(body, request)


async def _events(request: pipeline.Request, wire: responses.ResponsesRequest) -> AsyncIterator[bytes]:
    stream = responses.Stream(request, wire)
    for frame in stream.start():
        yield frame
    async for event in pipeline.events(request):
        if isinstance(event, StreamFailure):
            frames, body = stream.failed(event.error)
            await _keep(request, wire, body, wire.input_messages())
            for frame in frames:
                yield frame
            return
        for frame in stream.on(event):
            yield frame
    frames, body = stream.end()
    await _keep(request, wire, body, responses.turn_messages(wire, stream.completion()))  # before `completed`
    for frame in frames:
        yield frame


async def _keep(request: pipeline.Request, wire: responses.ResponsesRequest, body: dict, turn: list[dict]) -> None:
    if not wire.store:
        return
    principal = request.principal
    await sync_to_async(services.store)(
        response_id=body["id"], tenant_id=principal.tenant_id, user_id=principal.user_id, key_id=principal.key_id,
        request_id=request.request_id, previous_id=wire.previous_response_id, model=body["model"],
        status=body["status"], body=body, turn=turn,
    )  # fmt: skip


@rest("responses", methods=("GET", "DELETE"))
async def detail(http: HttpRequest, principal: Principal, response_id: str) -> JsonResponse:
    if http.method == "DELETE":
        await sync_to_async(services.delete)(principal.tenant_id, response_id)
        return JsonResponse({"id": response_id, "object": "response.deleted", "deleted": True})
    stored = await sync_to_async(services.find)(principal.tenant_id, response_id)
    return JsonResponse(stored.body)
