"""Live processes for end-to-end tests: the mock LLM server and a Catalyst ASGI server.

Both run as subprocesses on free ports. The Catalyst server shares the test database (committed
rows only) and the test run's Redis prefix, so a revocation or breaker state set by a test is
what the server sees.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


UVICORN_FLAGS = (
    "--loop", "uvloop", "--http", "httptools", "--no-access-log",
    "--ws", "wsproto", "--ws-per-message-deflate", "false", "--ws-max-size", "1048576",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class MockLLM:
    url: str
    process: subprocess.Popen

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b"{}")

    def reset(self) -> None:
        self._call("POST", "/_mock/reset", {})

    def script(self, model: str, responses: list[dict]) -> None:
        self._call("POST", "/_mock/script", {"model": model, "responses": responses})

    def requests(self, model: str | None = None) -> list[dict]:
        suffix = f"?model={urllib.parse.quote(model)}" if model else ""
        return self._call("GET", "/_mock/requests" + suffix)["requests"]


def start_mock(*flags: str) -> MockLLM:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "apps.mockllm.server", "--host", "127.0.0.1", "--port", str(port), *flags],
        cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/_mock/health", process)
    return MockLLM(url, process)


def start_otlp_sink() -> tuple[str, subprocess.Popen]:
    """The stand-in OpenTelemetry collector (otlp_sink.py) on a free port: its URL and process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "catalyst.testing.otlp_sink", "--port", str(port)], cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/health", process)
    return url, process


def start_celery_worker(env: dict[str, str], var_dir: Path, log) -> subprocess.Popen:
    """A Celery worker with beat embedded (its schedule file under var_dir), one task at a time."""
    command = [
        sys.executable, "-m", "celery", "-A", "catalyst", "worker", "--beat", "--pool", "solo", "-l", "warning",
        "--schedule", str(var_dir / "celerybeat-schedule"),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)


def children(pid: int) -> list[int]:
    """The processes `pid` has started and not yet reaped (from /proc)."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log_lines(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines


def start_catalyst(
    database_url: str, log_path: Path, server: str = "uvicorn", port: int | None = None, **env: str
) -> LiveServer:
    """A server on a free port (or on `port`, to restart one where its clients expect it)."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "catalyst.settings.test",
        "DATABASE_URL": database_url,
        "CATALOGUE_CHECK_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "INFO",
        **env,
    }
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), *UVICORN_FLAGS]
        command.append("catalyst.asgi:application")
    else:
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "catalyst.asgi:application"]
    log = log_path.open("a")
    process = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/health", process)
    return LiveServer(url, process, log_path)
