"""The request pipeline, top to bottom: record, authenticate, parse, resolve behaviour, plan, then answer.

Disconnects: the server runs with handler cancellation, so a client that goes away cancels the handler at
its current await (a sleep between tokens, the TTFT delay, a hang); the CancelledError is recorded as
"abandoned" with `ended_at` and re-raised. A write that fails on a closing connection counts the same.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from .behaviour import Behaviour, BehaviourError
from .dialects import Dialect
from .protocol import Answer, Frames, InvalidRequest
from .record import Entry
from .state import MockState

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends an RST, as a crashed upstream would.


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One provider route: its record name, its dialect, and how it plans an answer from a parsed body."""

    name: str
    dialect: Dialect
    plan: Callable[[dict, Behaviour, str], Answer]
    streams: bool = True


async def serve(request: web.Request, state: MockState, endpoint: Endpoint) -> web.StreamResponse:
    """Answer one provider request, keeping its record entry accurate whatever happens."""
    entry = state.record.open(endpoint.name, request.headers.get("X-Request-Id"))
    try:
        return await _answer(request, state, endpoint, entry)
    except asyncio.CancelledError:
        entry.finish("abandoned")
        raise
    except Exception:
        entry.finish("failed", 500)  # a bug in the mock: aiohttp answers 500, the record must not stay open
        raise


async def _answer(request: web.Request, state: MockState, endpoint: Endpoint, entry: Entry) -> web.StreamResponse:
    dialect = endpoint.dialect
    auth = dialect.authenticate(request, state.config.require_key)
    entry.authenticated = auth == "ok"
    raw = await request.read() if request.can_read_body else b""
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        entry.model, entry.body = body["model"], body
    if auth != "ok":
        message = "No API key provided." if auth == "missing" else "Incorrect API key provided."
        return _failed(entry, dialect.error(401, message))
    if not isinstance(body, dict):
        return _failed(entry, dialect.error(400, "The request body is not a valid JSON object."))
    try:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("'model' is required and must be a non-empty string", "model")
        behaviour = state.behaviour_for(model, request.headers.get("X-Mock-Behaviour"))
        entry.stream = endpoint.streams and body.get("stream") is True
        answer = endpoint.plan(body, behaviour, model)
    except (InvalidRequest, BehaviourError) as error:
        return _failed(entry, dialect.error(400, str(error), param=getattr(error, "param", None)))
    except RecursionError:
        return _failed(entry, dialect.error(400, "The request body is nested too deeply."))
    entry.prompt_tokens = answer.prompt_tokens
    entry.planned_tokens = answer.planned_tokens
    return await _deliver(request, state, dialect, entry, behaviour, answer)


async def _deliver(
    request: web.Request, state: MockState, dialect: Dialect, entry: Entry, behaviour: Behaviour, answer: Answer
) -> web.StreamResponse:
    """Apply the behaviour: hang, decide failure (in arrival order), wait TTFT, then fail, drop or answer."""
    if behaviour.hang:
        entry.outcome = "hung"
        await asyncio.get_running_loop().create_future()
    failure = behaviour.failure_status(state.rng)
    if behaviour.ttft_ms:
        await asyncio.sleep(behaviour.ttft_ms / 1000)
    if failure:
        message = f"Mock failure: status {failure} requested by the behaviour."
        return _failed(entry, dialect.error(failure, message, retry_after=behaviour.retry_after))
    if entry.stream:
        return await _stream(request, entry, behaviour, answer.frames())
    if behaviour.drop_after is not None:
        return _drop(request, entry, web.Response())
    response = web.Response(body=answer.body(), content_type="application/json")
    entry.first_token_at = time.time()
    entry.tokens_sent = answer.planned_tokens
    entry.finish("completed", 200)
    return response


async def _stream(request: web.Request, entry: Entry, behaviour: Behaviour, frames: Frames) -> web.StreamResponse:
    """Write each frame as it is produced, paced at `tps`; a failed write means the client has gone."""
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    loop = asyncio.get_running_loop()
    try:
        await response.prepare(request)
        entry.status = 200
        pending = frames.head
        interval = 1 / behaviour.tps if behaviour.tps > 0 else 0.0
        started = 0.0
        for index, unit in enumerate(frames.units):
            if behaviour.drop_after is not None and index >= behaviour.drop_after:
                break
            if index == 0:
                started = loop.time()
            elif interval:
                delay = started + index * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await response.write(pending + unit)
            pending = b""
            entry.tokens_sent += 1
            if index == 0:
                entry.first_token_at = time.time()
        if behaviour.drop_after is not None:
            if pending:
                await response.write(pending)
            return await _drop_flushed(request, entry, response)
        await response.write(pending + frames.tail)
        await response.write_eof()
    except ConnectionError:
        entry.finish("abandoned")
        return response
    entry.finish("completed")
    return response


async def _drop_flushed(request: web.Request, entry: Entry, response: web.StreamResponse) -> web.StreamResponse:
    """Let the kernel take what was written, then reset the connection: no finish frame, no [DONE]."""
    transport = request.transport
    for _ in range(100):
        if transport is None or transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.001)
    return _drop(request, entry, response)


def _drop(request: web.Request, entry: Entry, response: web.StreamResponse) -> web.StreamResponse:
    """Abort the TCP connection on purpose; aiohttp then sees a closed transport and sends nothing more."""
    entry.finish("dropped")
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        transport.abort()
    return response


def _failed(entry: Entry, response: web.Response) -> web.Response:
    entry.finish("failed", response.status)
    return response


async def serve_models(request: web.Request, state: MockState, dialect: Dialect, body: bytes) -> web.Response:
    """The model list: authenticated like every provider route, never delayed or failed by behaviours."""
    entry = state.record.open("models", request.headers.get("X-Request-Id"))
    auth = dialect.authenticate(request, state.config.require_key)
    entry.authenticated = auth == "ok"
    if auth != "ok":
        return _failed(entry, dialect.error(401, "No API key provided." if auth == "missing" else "Incorrect API key."))
    entry.finish("completed", 200)
    return web.Response(body=body, content_type="application/json")
