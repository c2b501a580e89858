"""ASGI lifespan: the work a server process does before it exits.

uvicorn re-raises the stop signal once its graceful shutdown is done, so the process dies of it
and `atexit` handlers never run. Shutdown work therefore happens here, after the last
connection has closed:
- the post-response tasks of the last requests (settlement, usage records, audit entries) finish;
- the tracer hands its last spans to the exporter process and waits for it (ADR 0012).
"""

from __future__ import annotations

import asyncio
import logging

from apps.core import background
from apps.observability import tracing

logger = logging.getLogger("catalyst.lifespan")
SHUTDOWN_SECONDS = 20


async def lifespan(scope, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await asyncio.wait_for(background.drain(), SHUTDOWN_SECONDS)
            except TimeoutError:
                logger.error("post-response tasks still running at shutdown were abandoned")
            await asyncio.to_thread(tracing.shutdown)
            await send({"type": "lifespan.shutdown.complete"})
            return
