"""A WebSocket chat client speaking catalyst.v1, for the live tests and the chat benchmark."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

import websockets

SUBPROTOCOL = "catalyst.v1"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws/chat/"


async def connect(http_url: str, token: str | None, **options) -> websockets.ClientConnection:
    protocols = [SUBPROTOCOL] + ([f"bearer.{token}"] if token else [])
    return await websockets.connect(ws_url(http_url), subprotocols=protocols, max_size=None, **options)


@dataclass
class Answer:
    """Everything the server sent about one message id."""

    id: str
    frames: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer as a client assembles it: each token placed at its offset."""
        text = ""
        for frame in self.frames:
            if frame["type"] == "token":
                text = text[: frame["offset"]] + frame["content"]
        return text

    @property
    def end(self) -> dict | None:
        return next((f for f in self.frames if f["type"] in ("done", "cancelled", "error")), None)

    def first(self, kind: str) -> dict | None:
        return next((f for f in self.frames if f["type"] == kind), None)


class ChatClient:
    """`answer_pings`: reply to the server's heartbeat pings with `pong`, as the chat page does."""

    def __init__(self, connection: websockets.ClientConnection, answer_pings: bool = True) -> None:
        self.connection = connection
        self.answer_pings = answer_pings
        self.answers: dict[str, Answer] = {}
        self.other: list[dict] = []

    @classmethod
    async def open(cls, http_url: str, token: str, answer_pings: bool = True, **options) -> ChatClient:
        client = cls(await connect(http_url, token, **options), answer_pings)
        ready = json.loads(await client.connection.recv())
        assert ready["type"] == "ready", ready
        return client

    async def send(self, frame: dict) -> None:
        await self.connection.send(json.dumps(frame))

    async def message(self, content: str, **fields) -> str:
        client_id = fields.pop("id", None) or uuid.uuid4().hex
        await self.send({"type": "message", "id": client_id, "content": content, **fields})
        return client_id

    async def receive(self, within: float = 10.0) -> dict:
        frame = json.loads(await asyncio.wait_for(self.connection.recv(), within))
        while frame == {"type": "ping"} and self.answer_pings:
            await self.send({"type": "pong"})
            frame = json.loads(await asyncio.wait_for(self.connection.recv(), within))
        if frame.get("id"):
            self.answers.setdefault(frame["id"], Answer(frame["id"])).frames.append(frame)
        else:
            self.other.append(frame)
        return frame

    async def until(self, client_id: str, kinds: tuple[str, ...] = ("done", "cancelled", "error"), within=10.0):
        """Read frames until one of `kinds` arrives for `client_id`; return that answer."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            answer = self.answers.get(client_id)
            if answer and any(f["type"] in kinds for f in answer.frames):
                return answer
            await self.receive(max(deadline - asyncio.get_running_loop().time(), 0.001))

    async def close(self) -> None:
        await self.connection.close()
