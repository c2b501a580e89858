"""One mock server per test session, on a free port, in a thread with its own event loop; clients are the SDKs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import anthropic
import httpx
import openai
import pytest

from apps.mockllm.behaviour import MockConfig
from apps.mockllm.server import start

KEY = "sk-mock-test-key-4f1c9e"


class MockServer:
    """A running mock and the few calls tests make to it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=5)
        self._clients: list[openai.OpenAI | anthropic.Anthropic] = []

    def openai(self, **options) -> openai.OpenAI:
        api_key = options.pop("api_key", KEY)
        return self._keep(openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=api_key, max_retries=0, **options))

    def async_openai(self, **options) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.base_url}/v1", api_key=KEY, max_retries=0, **options)

    def anthropic(self, **options) -> anthropic.Anthropic:
        api_key = options.pop("api_key", KEY)
        return self._keep(anthropic.Anthropic(base_url=self.base_url, api_key=api_key, max_retries=0, **options))

    def _keep(self, client):
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        while self._clients:
            self._clients.pop().close()

    def records(self, model: str | None = None) -> list[dict]:
        response = self.http.get("/_mock/requests", params={"model": model} if model else None)
        return response.json()["requests"]

    def record(self, model: str) -> dict:
        (only,) = self.records(model)
        return only

    def wait_for(self, model: str, outcome: str, timeout: float = 2.0) -> dict:
        """The single record for `model` once it reaches `outcome` (disconnects are noticed asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.record(model)
            if record["outcome"] == outcome or time.monotonic() > deadline:
                return record
            time.sleep(0.005)

    def script(self, model: str, responses: list[dict]) -> httpx.Response:
        return self.http.post("/_mock/script", json={"model": model, "responses": responses})

    def reset(self) -> None:
        self.http.post("/_mock/reset").raise_for_status()


@contextmanager
def running(config: MockConfig) -> Iterator[MockServer]:
    """Serve `config` (port 0: any free port) until the block ends."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    bound: dict[str, object] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner, port = loop.run_until_complete(start(config))
        bound.update(runner=runner, port=port)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="mockllm", daemon=True)
    thread.start()
    assert ready.wait(10), "the mock server did not start"
    server = MockServer(f"http://127.0.0.1:{bound['port']}")
    try:
        yield server
    finally:
        server.close_clients()
        server.http.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockServer]:
    with running(MockConfig(port=0)) as server:
        yield server


@pytest.fixture
def mock(mock_server: MockServer) -> Iterator[MockServer]:
    """The session's mock with an empty record and no scripts; the test's SDK clients are closed after it."""
    mock_server.reset()
    yield mock_server
    mock_server.close_clients()


@pytest.fixture
def strict_mock() -> Iterator[MockServer]:
    """A mock started with `--require-key`: only KEY is accepted."""
    with running(replace(MockConfig(port=0), require_key=KEY)) as server:
        yield server
