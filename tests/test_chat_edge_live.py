"""The chat WebSocket's edge: a connection ends when its token does, only allowed origins may open
one, a flood of frames is refused and then cut, and text no encoder accepts is an error frame."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from django.contrib.auth import get_user_model

from apps.chat.models import Message
from apps.tenancy.tokens import issue_token
from catalyst.testing.chat import ChatClient, connect

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def owner_id(live, django_db_blocker):
    with django_db_blocker.unblock():
        return get_user_model().objects.get(username="live-owner").pk


def test_a_connection_ends_with_4401_when_its_token_expires(fresh, owner_id):
    token = issue_token(user_id=owner_id, tenant_slug="live", ttl_seconds=2)

    async def scenario():
        client = await ChatClient.open(fresh.server.url, token)
        opened = time.monotonic()
        expired = await client.receive(within=5)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.receive(within=5)
        return expired, closed.value.rcvd.code, time.monotonic() - opened

    expired, code, after = asyncio.run(scenario())

    assert (expired["type"], expired["code"]) == ("error", "expired_token")
    assert code == 4401
    assert after < 3


@pytest.mark.parametrize(
    ("origin", "opens"),
    [("http://evil.example", False), ("http://127.0.0.1:8000", True), ("http://localhost", True), (None, True)],
)
def test_only_pages_on_allowed_origins_open_a_chat_connection(fresh, owner_id, origin, opens):
    token = issue_token(user_id=owner_id, tenant_slug="live")

    async def handshake():
        connection = await connect(fresh.server.url, token, origin=origin)
        try:
            return json.loads(await connection.recv())["type"]
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code
        finally:
            await connection.close()

    assert asyncio.run(handshake()) == ("ready" if opens else 4403)


def test_a_flood_of_frames_is_refused_then_cut_with_4429(fresh, owner_id):
    token = issue_token(user_id=owner_id, tenant_slug="live")

    async def flood():
        client = await ChatClient.open(fresh.server.url, token)
        for _ in range(150):
            await client.send({"type": "ping"})
        frames = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frames.append(await client.receive(within=5))
        return frames, closed.value.rcvd.code

    frames, code = asyncio.run(flood())

    pongs = [f for f in frames if f["type"] == "pong"]
    refusals = [f for f in frames if f["type"] == "error"]
    assert 40 <= len(pongs) <= 45  # the burst, and what refilled while the frames arrived
    assert [(f["code"], f["retry_after"]) for f in refusals] == [("too_many_frames", 1)]  # said once
    assert code == 4429


def test_a_lone_surrogate_in_a_chat_frame_is_an_error_frame_and_stores_nothing(fresh, owner_id):
    token = issue_token(user_id=owner_id, tenant_slug="live")

    async def scenario():
        client = await ChatClient.open(fresh.server.url, token)
        await client.connection.send('{"type": "message", "id": "lone-1", "content": "hi \\ud800"}')
        refused = await client.receive()
        fine = await client.until(await client.message("A proper question", model="gpt-mock"))
        await client.close()
        return refused, fine

    refused, fine = asyncio.run(scenario())

    assert (refused["type"], refused["code"], refused["id"]) == ("error", "invalid_frame", "lone-1")
    assert refused["message"] == "content: the text holds a lone UTF-16 surrogate, which is not valid Unicode."
    assert not Message.objects.filter(client_id="lone-1").exists()
    assert fine.end["type"] == "done"
