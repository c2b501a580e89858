"""ASGI lifespan: the loops a server process starts with, and the work it does before it exits.

At startup, the guardrails load their recognisers and word lists (about 2 s, in a thread) before
the process takes requests, so no first request pays for them. With QUEUE_FLUSHER=web (the
embedded default has no Celery beat), the process takes an audit checkpoint every
AUDIT_CHECKPOINT_SECONDS; the loop ends with the process.

uvicorn re-raises the stop signal once its graceful shutdown is done, so the process dies of it
and `atexit` handlers never run. Shutdown work therefore happens here, after the last
connection has closed:
- the post-response tasks of the last requests (settlement, usage records, audit entries) and
  running chat answers finish, for up to SHUTDOWN_SECONDS; what still runs then is cancelled,
  and the settlement its cancellation starts gets a few seconds more;
- the tracer hands its last spans to the exporter process and waits for it (ADR 0012).
"""

from __future__ import annotations

import asyncio
import gc

from django.conf import settings

from apps.api import mcp
from apps.audit.checkpoints import checkpoint_forever
from apps.core import background
from apps.guardrails import engine as guardrails
from apps.observability import tracing

SHUTDOWN_SECONDS = 15  # then cancelled; with uvicorn's 5 s and the span hand-over, within compose's 40 s


async def lifespan(scope, receive, send) -> None:
    async with mcp.running():  # the MCP endpoint's task group
        await _serve(receive, send)


async def _serve(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await asyncio.to_thread(guardrails.warm)
            gc.freeze()  # what start-up loaded lives as long as the process: no collection walks it again
            if settings.QUEUE_FLUSHER == "web":
                interval = settings.AUDIT_CHECKPOINT_SECONDS
                background.spawn(checkpoint_forever(interval), what="audit checkpoints", lasting=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await background.finish(SHUTDOWN_SECONDS)
            await asyncio.to_thread(tracing.shutdown)
            await send({"type": "lifespan.shutdown.complete"})
            return
