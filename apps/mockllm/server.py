"""The mock LLM HTTP server (aiohttp, no Django): `python -m apps.mockllm.server --port 8100 [behaviour flags]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Sequence

from aiohttp import web

from .anthropic_api import messages_answer
from .behaviour import BehaviourError, MockConfig, add_arguments, config_from_options
from .dialects import ANTHROPIC, OPENAI
from .flow import Endpoint, serve, serve_models
from .openai_api import MODELS_BODY, chat_answer, embeddings_answer
from .responses_api import responses_answer
from .state import MockState

STATE = web.AppKey("mockllm_state", MockState)
MAX_BODY_BYTES = 64 * 1024 * 1024
CHAT = Endpoint("chat", OPENAI, chat_answer)
EMBEDDINGS = Endpoint("embeddings", OPENAI, embeddings_answer, streams=False)
MESSAGES = Endpoint("messages", ANTHROPIC, messages_answer)
RESPONSES = Endpoint("responses", OPENAI, responses_answer)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await serve(request, request.app[STATE], CHAT)


async def responses(request: web.Request) -> web.StreamResponse:
    return await serve(request, request.app[STATE], RESPONSES)


async def embeddings(request: web.Request) -> web.StreamResponse:
    return await serve(request, request.app[STATE], EMBEDDINGS)


async def messages(request: web.Request) -> web.StreamResponse:
    return await serve(request, request.app[STATE], MESSAGES)


async def models(request: web.Request) -> web.Response:
    return await serve_models(request, request.app[STATE], OPENAI, MODELS_BODY)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def requests(request: web.Request) -> web.Response:
    """Every recorded request, oldest first; `?model=` keeps one exact model string."""
    return web.json_response({"requests": request.app[STATE].record.snapshot(request.query.get("model"))})


async def reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"status": "ok"})


async def script(request: web.Request) -> web.Response:
    """Queue exact responses for one model string: `{"model": ..., "responses": [{"status": 500}, {}]}`."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("model"), str)
        or not isinstance(body.get("responses"), list)
    ):
        return web.json_response({"error": "expected {'model': str, 'responses': [object, ...]}"}, status=400)
    try:
        request.app[STATE].set_script(body["model"], body["responses"])
    except BehaviourError as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"model": body["model"], "queued": len(body["responses"])})


def create_app(config: MockConfig) -> web.Application:
    """The application: provider routes under /v1, control routes under /_mock."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = MockState(config)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_mock/health", health)
    app.router.add_get("/_mock/requests", requests)
    app.router.add_post("/_mock/reset", reset)
    app.router.add_post("/_mock/script", script)
    return app


async def start(config: MockConfig) -> tuple[web.AppRunner, int]:
    """Start serving on the running loop; returns the runner (cleanup() stops it) and the bound port.

    Handler cancellation is what makes "abandoned" immediate: a client disconnect cancels its handler.
    """
    runner = web.AppRunner(create_app(config), handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port, backlog=1024).start()
    return runner, runner.addresses[0][1]


async def _serve_forever(config: MockConfig) -> None:
    runner, port = await start(config)
    print(f"Mock LLM listening on http://{config.host}:{port} (OpenAI /v1, Anthropic /v1/messages)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run(config: MockConfig) -> None:
    """Serve until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(config))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.mockllm.server", description=__doc__)
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        config = config_from_options(options)
    except BehaviourError as error:
        parser.error(str(error))
    run(config)


if __name__ == "__main__":
    main()
