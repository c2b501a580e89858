"""Two server processes sharing Redis (channel layer, hot store) and the database: a cancel, a
resume or a stop from the admin reaches an answer whatever process writes it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

import pytest
import websockets
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.chat.models import Message
from apps.tenancy.tokens import issue_token
from catalyst.testing.chat import ChatClient
from catalyst.testing.live import start_catalyst, stop
from tests.conftest import _database_url

pytestmark = pytest.mark.django_db


def _start(django_db_blocker, tmp_path_factory, name: str):
    with django_db_blocker.unblock():
        url = _database_url()
    return start_catalyst(
        url, tmp_path_factory.mktemp(name) / "server.log", CHAT_HEARTBEAT_SECONDS="1", CHAT_PONG_TIMEOUT_SECONDS="1"
    )


@pytest.fixture(scope="module")
def pair(live, django_db_blocker, tmp_path_factory):
    """Servers A and B, with a one-second chat heartbeat and a one-second wait for the pong."""
    servers = [_start(django_db_blocker, tmp_path_factory, name) for name in ("a", "b")]
    yield servers
    for server in servers:
        stop(server.process)


@pytest.fixture(scope="module")
def token(live, django_db_blocker):
    with django_db_blocker.unblock():
        owner = get_user_model().objects.get(username="live-owner")
    return issue_token(user_id=owner.pk, tenant_slug="live")


def test_a_cancel_sent_to_one_process_stops_the_answer_written_by_the_other(fresh, pair, token):
    a, b = pair
    fresh.mock.script("gpt-mock", [{"tps": 50, "tokens": 400}])

    async def scenario():
        on_a = await ChatClient.open(a.url, token)
        on_b = await ChatClient.open(b.url, token)
        client_id = await on_a.message("A long story", model="gpt-mock")
        await on_a.until(client_id, ("token",))
        cancelled_at = time.time()
        await on_b.send({"type": "cancel", "id": client_id})
        heard_on_b = await on_b.until(client_id)
        heard_on_a = await on_a.until(client_id)
        await on_a.close()
        await on_b.close()
        return cancelled_at, heard_on_a.end, heard_on_b.end

    cancelled_at, end_a, end_b = asyncio.run(scenario())

    time.sleep(0.2)
    upstream = fresh.mock.requests()[0]
    assert end_a["type"] == end_b["type"] == "cancelled"
    assert upstream["outcome"] == "abandoned"
    assert upstream["ended_at"] - cancelled_at < 0.1
    assert Message.objects.get(client_id=end_a["id"], role="assistant").status == "cancelled"


def test_an_answer_resumes_on_the_other_process_after_the_client_drops(fresh, pair, token):
    a, b = pair
    fresh.mock.script("gpt-mock", [{"tps": 100, "tokens": 50}])

    async def scenario():
        on_a = await ChatClient.open(a.url, token)
        client_id = await on_a.message("Count for me", model="gpt-mock")
        for _ in range(5):
            await on_a.until(client_id, ("token",))
            await on_a.receive()
        seen = on_a.answers[client_id].text
        await on_a.connection.close()
        on_b = await ChatClient.open(b.url, token)
        await on_b.send({"type": "resume", "id": client_id, "offset": len(seen)})
        rest = await on_b.until(client_id)
        await on_b.close()
        return seen, rest

    seen, rest = asyncio.run(scenario())

    stored = Message.objects.get(client_id=rest.id, role="assistant")
    assert rest.frames[0]["type"] == "typing"
    assert rest.first("token")["offset"] == len(seen)
    assert seen + rest.text == stored.content
    assert rest.end["type"] == "done" and rest.end["usage"]["tokens_out"] == 50
    assert len(fresh.mock.requests()) == 1


def test_the_server_pings_quiet_connections_and_closes_those_that_never_answer(fresh, pair, token):
    a, _ = pair

    async def scenario():
        silent = await ChatClient.open(a.url, token, answer_pings=False)
        answering = await ChatClient.open(a.url, token)
        opened = time.monotonic()

        async def listen() -> None:  # the answering client reads (and so answers pings) all along
            while time.monotonic() - opened < 4:
                with contextlib.suppress(TimeoutError):
                    await answering.receive(within=0.2)

        listening = asyncio.create_task(listen())
        ping = await silent.receive(within=3)
        pinged_after = time.monotonic() - opened
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await silent.receive(within=3)
        closed_after = time.monotonic() - opened
        await listening
        answer = await answering.until(await answering.message("Still there?", model="gpt-mock"))
        await answering.close()
        return ping, pinged_after, closed.value.rcvd.code, closed_after, answer

    ping, pinged_after, code, closed_after, answer = asyncio.run(scenario())

    assert ping == {"type": "ping"}
    assert 0.7 <= pinged_after < 2  # after about one quiet heartbeat
    assert code == 4408
    assert 1.7 <= closed_after < 3.5  # one more second without a pong
    assert answer.end["type"] == "done"  # the connection that answered every ping is still open


def test_staff_stop_an_answer_from_the_admin(fresh, pair, token, staff_client):
    a, _ = pair
    fresh.mock.script("gpt-mock", [{"tps": 50, "tokens": 400}])
    first_token, result = threading.Event(), {}

    async def chat():
        client = await ChatClient.open(a.url, token)
        client_id = await client.message("Keep talking", model="gpt-mock")
        await client.until(client_id, ("token",))
        result["id"] = client_id
        first_token.set()
        result["answer"] = await client.until(client_id)
        await client.close()

    worker = threading.Thread(target=asyncio.run, args=(chat(),))
    worker.start()
    assert first_token.wait(10)
    message = Message.objects.get(client_id=result["id"], role="assistant")
    assert message.status == "streaming"

    response = staff_client.post(
        reverse("admin:chat_message_changelist"), {"action": "stop_answers", "_selected_action": [message.pk]}
    )
    worker.join(10)

    assert response.status_code == 302
    assert result["answer"].end == {"type": "cancelled", "id": result["id"]}
    assert fresh.mock.requests()[0]["outcome"] == "abandoned"
    message.refresh_from_db()
    assert message.status == "cancelled"


def test_an_answer_lost_with_its_process_is_reported_as_interrupted(
    fresh, live, token, django_db_blocker, tmp_path_factory
):
    doomed = _start(django_db_blocker, tmp_path_factory, "doomed")
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])

    async def scenario():
        client = await ChatClient.open(doomed.url, token)
        client_id = await client.message("Hello", model="gpt-mock")
        await client.until(client_id, ("token",))
        os.killpg(doomed.process.pid, signal.SIGKILL)  # the process dies: no graceful shutdown
        doomed.process.wait()
        survivor = await ChatClient.open(live.server.url, token)
        await survivor.send({"type": "resume", "id": client_id, "offset": 0})
        answer = await survivor.until(client_id, within=5)
        await survivor.close()
        return answer

    answer = asyncio.run(scenario())

    assert (answer.end["type"], answer.end["code"]) == ("error", "answer_interrupted")
    stored = Message.objects.get(client_id=answer.id, role="assistant")
    assert (stored.status, stored.error_code) == ("failed", "answer_interrupted")


def test_a_graceful_stop_lets_running_answers_finish_and_be_saved(fresh, token, django_db_blocker, tmp_path_factory):
    stopping = _start(django_db_blocker, tmp_path_factory, "stopping")
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 40}])  # two seconds of answer

    async def scenario():
        client = await ChatClient.open(stopping.url, token)
        client_id = await client.message("Hello", model="gpt-mock")
        await client.until(client_id, ("token",))
        stopping.process.send_signal(signal.SIGTERM)  # as a supervisor stops it
        return client_id

    client_id = asyncio.run(scenario())
    stopping.process.wait(timeout=15)

    stored = Message.objects.get(client_id=client_id, role="assistant")
    assert stored.status == "complete"
    assert len(stored.content.split()) == 40
    assert fresh.mock.requests()[0]["outcome"] == "completed"
