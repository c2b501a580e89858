"""`make run` on the embedded default: no services, a demo tenant, printed URLs and a working key."""

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import openai
import pytest

from catalyst.testing.chat import ChatClient

ROOT = Path(__file__).resolve().parent.parent
INSTANT = ("DEMO_TTFT_MS=0", "DEMO_TPS=0")
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "HOTSTORE_PREFIX", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def platform(tmp_path):
    """Start `make run` with nothing configured; yield (base URL, its output, the var dir)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env["CATALYST_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        # The demo's answers keep their prose and length, not its model-like pace (apps/mockllm tests that).
        ["make", "--no-print-directory", "run", f"PORT={port}", f"MOCK_PORT={free_port()}", *INSTANT],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(line.rstrip("\n") for line in process.stdout), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if get(base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield base, output, tmp_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_make_run_serves_the_platform_with_a_demo_key_and_no_services(platform):
    base, output, var_dir = platform
    text = "\n".join(output)

    assert f"Admin:      {base}/admin/" in text
    assert "login:    admin / " in text
    assert "Demo tenant: demo (tier professional)" in text
    key = output[output.index("  Demo API key:") + 1]
    assert key.startswith("cat_")

    assert get(base + "/health") == (200, {"status": "ok"})
    status, body = get(base + "/v1/me", key)
    assert (status, body["tenant"], body["auth"]) == (200, "demo", "api_key")
    status, body = get(base + "/v1/me", "cat_aaaaaaaa_" + "b" * 40)
    assert (status, body["error"]["code"]) == (401, "invalid_api_key")
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
    status, body = get(base + "/v1/chat/completions", key, chat)
    assert (status, body["model"]) == (200, "gpt-4o-mini")
    assert 40 <= body["usage"]["completion_tokens"] <= 260  # the demo answers prose of 40 to 260 tokens
    assert body["choices"][0]["message"]["content"][-1] in ".?!"
    assert (var_dir / "catalyst.sqlite3").exists()

    chat_password = next(line for line in output if line.startswith("    login:    demo / ")).split(" / ")[1]
    answer = asyncio.run(chat_through_the_page(base, "demo", chat_password))
    assert answer.end["type"] == "done"
    assert 40 <= answer.end["usage"]["tokens_out"] <= 260
    search_and_cite_on_sqlite(base, key, var_dir)


def search_and_cite_on_sqlite(base: str, key: str, var_dir: Path) -> None:
    """Files, a vector store, hybrid search and a rag answer, with no service: the chunks in SQLite,
    the bytes under the var directory, the vectors from the packaged local model."""
    sdk = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
    store = sdk.vector_stores.create(name="embedded")
    for name, text in (("tea.md", "Green tea is steeped at 80 degrees for two minutes."),
                       ("bikes.txt", "A bicycle chain should be oiled every 300 kilometres.")):  # fmt: skip
        attached = sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, io.BytesIO(text.encode())), poll_interval_ms=100
        )
        assert attached.status == "completed"
    found = sdk.vector_stores.search(store.id, query="How often do I oil my bike chain?")
    assert found.data[0].filename == "bikes.txt"
    question = {"prompt": "How hot is the water for green tea?", "pipeline": "rag", "vector_store_ids": [store.id]}
    status, body = get(base + "/v1/generate", key, question)
    assert (status, body["pipeline_used"], body["citations"][0]["filename"]) == (200, "rag", "tea.md")
    assert len(list((var_dir / "files").rglob("file-*"))) == 2


async def chat_through_the_page(base: str, username: str, password: str):
    """Sign in as the chat page does, fetch its token, and chat over the WebSocket."""
    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=10) as browser:
        await browser.get("/accounts/login/")
        csrf = browser.cookies["csrftoken"]
        signed_in = await browser.post(
            "/accounts/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": base + "/accounts/login/"},
        )  # fmt: skip
        assert (signed_in.status_code, signed_in.headers["location"]) == (302, "/chat/")
        assert (await browser.get("/chat/")).status_code == 200
        token = await browser.post(
            "/chat/token", json={"tenant": "demo"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        )
    client = await ChatClient.open(base, token.json()["token"])
    answer = await client.until(await client.message("Hello from the embedded default", model="gpt-4o-mini"))
    await client.close()
    return answer


def test_the_embedded_default_uses_no_external_service(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(CATALYST_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="catalyst.settings.local")
    probe = (
        "from django.conf import settings as s; from apps.core.redis.hotstore import hot_store; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, type(hot_store()).__name__)"
    )
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-v", "0", "-c", probe],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "MemoryHotStore",
    ]
