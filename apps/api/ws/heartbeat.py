"""Heartbeats: the server pings quiet chat connections and closes the dead ones.

One sweeper per event loop, not a timer per connection. A connection that has sent nothing for
CHAT_HEARTBEAT_SECONDS gets a `ping` frame; any frame in reply (a `pong`, or anything else)
proves it alive. One that stays silent for CHAT_PONG_TIMEOUT_SECONDS more is closed with 4408.
The server does not rely on clients to ping (a browser tab in the background may not).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Protocol

from django.conf import settings

from apps.core.background import spawn

CLOSE_IDLE = 4408
PING = {"type": "ping"}


class Watched(Protocol):
    last_seen: float
    pinged_at: float | None

    async def send_frame(self, frame: dict) -> None: ...

    async def close(self, code: int | None = None) -> None: ...


_watched: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet] = weakref.WeakKeyDictionary()


def watch(connection: Watched) -> None:
    loop = asyncio.get_running_loop()
    connections = _watched.get(loop)
    if connections is None:
        connections = _watched[loop] = weakref.WeakSet()
        spawn(_sweep(connections), what="chat heartbeat sweeper", lasting=True)
    heard(connection)
    connections.add(connection)


def heard(connection: Watched) -> None:
    """The client sent a frame: it is alive, and any ping is answered."""
    connection.last_seen = asyncio.get_running_loop().time()
    connection.pinged_at = None


def forget(connection: Watched) -> None:
    connections = _watched.get(asyncio.get_running_loop())
    if connections is not None:
        connections.discard(connection)


async def _sweep(connections: weakref.WeakSet) -> None:
    loop = asyncio.get_running_loop()
    quiet, grace = settings.CHAT_HEARTBEAT_SECONDS, settings.CHAT_PONG_TIMEOUT_SECONDS
    while True:
        await asyncio.sleep(min(quiet, grace) / 4)
        now = loop.time()
        for connection in list(connections):
            if connection.pinged_at is not None and now - connection.pinged_at >= grace:
                connections.discard(connection)
                spawn(connection.close(code=CLOSE_IDLE), what="closing a silent chat connection")
            elif connection.pinged_at is None and now - connection.last_seen >= quiet:
                connection.pinged_at = now
                spawn(_ping(connection), what="chat heartbeat ping")


async def _ping(connection: Watched) -> None:
    with contextlib.suppress(Exception):  # the connection is going away; the sweeper closes it on time
        await connection.send_frame(PING)
