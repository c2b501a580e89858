"""Background work: what follows a response (settlement, usage records, audit entries), chat
answers, and the loops of connections and sweepers.

Tasks are held until done, so they are not garbage-collected mid-flight, and their failures are
logged rather than lost. A server's shutdown waits for every task but the loops
(catalyst/lifespan.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

logger = logging.getLogger("catalyst.background")
_running: set[asyncio.Task] = set()  # work that ends, and that a shutdown waits for
_lasting: set[asyncio.Task] = set()  # loops that run as long as their connection or process


def spawn(coroutine: Coroutine, *, what: str, lasting: bool = False) -> asyncio.Task:
    """Run `coroutine` in the background. `lasting` marks a loop (a connection's inbox reader, a
    sweeper) that ends only when cancelled: shutdown does not wait for it."""
    task = asyncio.get_running_loop().create_task(coroutine)
    held = _lasting if lasting else _running
    held.add(task)

    def done(finished: asyncio.Task) -> None:
        held.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            logger.error("background task failed", extra={"task": what}, exc_info=finished.exception())

    task.add_done_callback(done)
    return task


async def drain() -> None:
    """Wait for every task that ends on its own (tests, and graceful shutdown), not for loops."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)


async def finish(seconds: float, grace: float = 5.0) -> int:
    """A server's shutdown: wait up to `seconds` for every task but the loops, including tasks
    started meanwhile; then cancel what still runs, and give the work its cancellation starts
    (settling a cut answer, say) `grace` seconds more. Returns how many tasks were cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while _running and loop.time() < deadline:
        await asyncio.wait(list(_running), timeout=deadline - loop.time())
    late = list(_running)
    for task in late:
        task.cancel()
    if late:
        logger.error("tasks still running at shutdown were cancelled", extra={"tasks": len(late)})
        await asyncio.wait(late, timeout=grace)
        if _running:  # what the cancellations started: settlements, usage records, audit entries
            await asyncio.wait(list(_running), timeout=grace)
    return len(late)
