"""Closing dead chat connections: one sweeper per event loop, not a timer per connection.

A connection that has sent nothing, not even a `ping`, for two heartbeat periods is closed with
4408. Clients ping every half period. (uvicorn's protocol pings catch dead TCP peers as well.)
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

from django.conf import settings

from apps.core.background import spawn

CLOSE_IDLE = 4408


class Watched(Protocol):
    last_seen: float

    async def close(self, code: int | None = None) -> None: ...


_watched: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet] = weakref.WeakKeyDictionary()


def watch(connection: Watched) -> None:
    loop = asyncio.get_running_loop()
    connections = _watched.get(loop)
    if connections is None:
        connections = _watched[loop] = weakref.WeakSet()
        spawn(_sweep(connections), what="chat heartbeat sweeper", lasting=True)
    connection.last_seen = loop.time()
    connections.add(connection)


def forget(connection: Watched) -> None:
    connections = _watched.get(asyncio.get_running_loop())
    if connections is not None:
        connections.discard(connection)


async def _sweep(connections: weakref.WeakSet) -> None:
    loop = asyncio.get_running_loop()
    limit = settings.CHAT_HEARTBEAT_SECONDS * 2
    while True:
        await asyncio.sleep(settings.CHAT_HEARTBEAT_SECONDS / 4)
        now = loop.time()
        for connection in [c for c in connections if now - c.last_seen >= limit]:
            connections.discard(connection)
            spawn(connection.close(code=CLOSE_IDLE), what="closing a silent chat connection")
