"""Fire-and-forget work after a response (rate-limit corrections, lease releases).

Tasks are held until done, so they are not garbage-collected mid-flight, and their failures are
logged rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

logger = logging.getLogger("catalyst.background")
_running: set[asyncio.Task] = set()


def spawn(coroutine: Coroutine, *, what: str) -> asyncio.Task:
    task = asyncio.get_running_loop().create_task(coroutine)
    _running.add(task)

    def done(finished: asyncio.Task) -> None:
        _running.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            logger.error("background task failed", extra={"task": what}, exc_info=finished.exception())

    task.add_done_callback(done)
    return task


async def drain() -> None:
    """Wait for every pending task (tests, and graceful shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
