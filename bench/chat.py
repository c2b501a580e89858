"""WebSocket chat against the mock LLM: connections, memory, token relay and cancel latency.

    .venv/bin/python bench/chat.py [--connections 5000] [--ws websockets|wsproto]

One Catalyst server process (see harness.py) and the mock; the client is this process. Measures:
  - idle connections the process holds (each authenticated by its JWT and sent `ready`), the
    rate they were opened at, and the server's resident memory per connection;
  - token frames relayed per second (20 chats at once, 2,000-token answers from an unthrottled
    mock), beside the SSE chunks per second read straight from the mock in the same run;
  - cancel latency: from sending `cancel` to the mock seeing the upstream stream closed
    (its record's `ended_at`), and to the client receiving `cancelled`; p50/p95/p99 over 200.
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from pathlib import Path

import aiohttp
from harness import ROOT, percentile, stack

from catalyst.testing.chat import ChatClient, connect
from catalyst.testing.live import MockLLM

MODEL = "gpt-4o-mini"
RELAY_TOKENS = int(os.environ.get("BENCH_RELAY_TOKENS", "2000"))


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


async def idle_connections(url: str, token: str, count: int, pid: int) -> dict:
    warm = [await connect(url, token) for _ in range(20)]
    for connection in warm:
        await connection.recv()
    await asyncio.sleep(1)
    before = rss_kb(pid)
    opened: list = []
    started = time.perf_counter()
    batch = 250
    for start in range(0, count, batch):

        async def open_one():
            connection = await connect(url, token, open_timeout=60, ping_interval=None)
            assert json.loads(await connection.recv())["type"] == "ready"
            return connection

        opened += await asyncio.gather(*(open_one() for _ in range(min(batch, count - start))))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(2)
    after = rss_kb(pid)
    # still there: every connection answers a ping with a pong
    sample = opened[:: max(len(opened) // 200, 1)]
    for connection in sample:
        await connection.send('{"type":"ping"}')
    pongs = [json.loads(await connection.recv())["type"] for connection in sample]
    await asyncio.gather(*(c.close() for c in opened + warm))
    return {
        "connections": len(opened),
        "opened_per_second": round(len(opened) / elapsed, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "kb_per_connection": round((after - before) / len(opened), 2),
        "sampled_pongs": f"{pongs.count('pong')}/{len(sample)}",
    }


async def relay(url: str, token: str, mock_url: str, chats: int, tokens: int) -> dict:
    """Token frames per second through one process. The client only counts frames (no JSON
    parsing per frame), so it is not what limits the figure."""
    MockLLM(mock_url, None).script(MODEL, [{"tokens": tokens}] * chats)
    clients = [await ChatClient.open(url, token) for _ in range(chats)]

    async def count(client: ChatClient) -> int:
        await client.message("Stream a long answer", model=MODEL)
        frames = 0
        async for raw in client.connection:
            if raw.startswith('{"type":"token"'):
                frames += 1
            elif raw.startswith(('{"type":"done"', '{"type":"error"')):
                return frames
        return frames

    started = time.perf_counter()
    frames = sum(await asyncio.gather(*(count(client) for client in clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    direct = await direct_chunks(mock_url, chats, tokens)
    return {
        "chats": chats,
        "token_frames": frames,
        "frames_per_second": round(frames / elapsed),
        "direct_sse_chunks_per_second": round(direct),
        "ratio": round(frames / elapsed / direct, 3),
    }


async def direct_chunks(mock_url: str, streams: int, tokens: int) -> float:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Stream a long answer"}]}
    headers = {"Authorization": "Bearer direct", "X-Mock-Behaviour": f"tokens={tokens}"}

    async def one(session) -> int:
        chunks = 0
        async with session.post(mock_url + "/v1/chat/completions", json=body, headers=headers) as response:
            async for line in response.content:
                chunks += line.startswith(b"data: {")
        return chunks

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        counts = await asyncio.gather(*(one(session) for _ in range(streams)))
        return sum(counts) / (time.perf_counter() - started)


async def cancels(url: str, token: str, mock_url: str, samples: int) -> dict:
    client, mock = await ChatClient.open(url, token), MockLLM(mock_url, None)
    upstream, client_side = [], []
    for _ in range(samples):
        mock.reset()
        mock.script(MODEL, [{"tps": 200, "tokens": 5000}])
        client_id = await client.message("Talk until I stop you", model=MODEL)
        await client.until(client_id, ("token",))
        sent = time.time()
        await client.send({"type": "cancel", "id": client_id})
        await client.until(client_id)
        client_side.append((time.time() - sent) * 1000)
        await asyncio.sleep(0.02)
        record = mock.requests()[-1]
        upstream.append((record["ended_at"] - sent) * 1000)
    await client.close()

    def spread(values):
        return {name: round(percentile(values, q), 2) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}

    return {
        "samples": samples,
        "cancel_to_upstream_closed_ms": spread(upstream),
        "cancel_to_cancelled_frame_ms": spread(client_side),
    }


async def measure(running, connections: int, parts: list[str]) -> dict:
    report = {}
    if "idle" in parts:
        report["idle"] = await idle_connections(running.url, running.token, connections, running.server.pid)
    if "relay" in parts:
        report["relay"] = await relay(running.url, running.token, running.mock_url, 20, RELAY_TOKENS)
    if "cancel" in parts:
        report["cancel"] = await cancels(running.url, running.token, running.mock_url, 200)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--ws", choices=("websockets", "websockets-sansio", "wsproto"), default="wsproto")
    parser.add_argument("--deflate", action="store_true", help="Turn permessage-deflate on (shipped: off).")
    parser.add_argument("--parts", default="idle,relay,cancel", help="Which measurements to run (comma-separated).")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65_536)), hard))  # the server inherits it
    server_args = ["--ws", args.ws, "--ws-per-message-deflate", "true" if args.deflate else "false"]
    with stack(server_args=server_args) as running:
        report = asyncio.run(measure(running, args.connections, args.parts.split(",")))
    report["ws"] = args.ws
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    assert ROOT.exists()
    main()
