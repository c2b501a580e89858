"""With Redis down the gateway answers clearly: 503 with Retry-After for generation, a refused
WebSocket handshake (1013, try again later), /ready naming Redis, and `make run` a sentence."""

from __future__ import annotations

import asyncio
import os
import subprocess

import httpx
import pytest
import websockets

from catalyst.testing.chat import connect
from catalyst.testing.live import ROOT, start_catalyst, stop

from .conftest import _database_url

pytestmark = pytest.mark.django_db
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(scope="module")
def stranded(live, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        url = _database_url()
    server = start_catalyst(url, tmp_path_factory.mktemp("stranded") / "server.log", REDIS_URL=NOWHERE)
    yield server
    stop(server.process)


def test_generation_answers_503_with_retry_after_when_redis_is_down(stranded, live):
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "hi"}]}

    chat = httpx.post(stranded.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {live.key}"})
    anthropic = httpx.post(
        stranded.url + "/v1/messages", json={**body, "max_tokens": 5}, headers={"x-api-key": live.key}
    )
    ready = httpx.get(stranded.url + "/ready")

    assert chat.status_code == 503
    assert chat.headers["retry-after"] == "5"
    assert chat.json()["error"]["code"] == "service_unavailable"
    assert (anthropic.status_code, anthropic.json()["error"]["type"]) == (503, "overloaded_error")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("unavailable")


def test_a_chat_handshake_is_refused_with_try_again_later_when_redis_is_down(stranded):
    async def handshake():
        connection = await connect(stranded.url, "a.b.c")
        try:
            await connection.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code

    assert asyncio.run(handshake()) == 1013


def test_make_run_explains_a_stopped_redis_instead_of_a_traceback(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOTSTORE_PREFIX", "DJANGO_SETTINGS_MODULE")
    }
    env.update(REDIS_URL=NOWHERE, CATALYST_VAR_DIR=str(tmp_path))

    result = subprocess.run(
        ["make", "--no-print-directory", "run", "PORT=1", "MOCK_PORT=2"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Redis at redis://127.0.0.1:1/0 (REDIS_URL) is not answering" in output
    assert "unset REDIS_URL to run on the embedded default" in output
    assert "Traceback" not in output
