"""Gateway overhead against the mock LLM, as ratios to a direct call in the same run.

    .venv/bin/python bench/gateway.py [--server daphne|uvicorn] [--requests 2000] [--seconds 10]

Starts the mock LLM server and one Catalyst server process (local settings, DEBUG off, Redis for
the hot store, SQLite for the database or PostgreSQL with --postgres; authentication, rate
limiting, metering and JSON request logging on), seeds a tenant whose limits are checked but
never reached (and, with --budget-usd, a budget every request reserves against), then measures
with an aiohttp client:
  - added latency p50/p95/p99 of non-streamed chat at concurrency 1, 10 and 50;
  - throughput of the one Catalyst process at concurrency 50;
  - time-to-first-token overhead of streamed chat at concurrency 1.
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from harness import percentile, stack

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello to the benchmark"}]}


async def one(session: aiohttp.ClientSession, url: str, headers: dict, body: dict) -> float:
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


async def latencies(url: str, headers: dict, concurrency: int, total: int) -> list[float]:
    results: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(20):
            await one(session, url, headers, BODY)
        queue = iter(range(total))

        async def worker() -> None:
            for _ in queue:
                results.append(await one(session, url, headers, BODY))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def throughput(url: str, headers: dict, concurrency: int, seconds: float) -> float:
    done = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                await one(session, url, headers, BODY)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


async def first_token_ms(url: str, headers: dict, samples: int) -> list[float]:
    body = {**BODY, "stream": True}
    values = []
    async with aiohttp.ClientSession() as session:
        for _ in range(samples):
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                async for line in response.content:
                    if b'"content":"' in line and b'"content":""' not in line:
                        values.append((time.perf_counter() - started) * 1000)
                        break
                await response.read()
    return values


def summary(direct: list[float], gateway: list[float]) -> dict[str, float]:
    row = {}
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        d, g = percentile(direct, fraction), percentile(gateway, fraction)
        row[name] = {"direct_ms": round(d, 3), "catalyst_ms": round(g, 3), "added_ms": round(g - d, 3)}
    return row


async def measure(mock_url: str, catalyst_url: str, key: str, requests: int, seconds: float) -> dict:
    direct = (mock_url + "/v1/chat/completions", {"Authorization": "Bearer direct"})
    gateway = (catalyst_url + "/v1/chat/completions", {"Authorization": f"Bearer {key}"})
    report: dict = {"latency": {}}
    for concurrency in (1, 10, 50):
        count = requests if concurrency > 1 else max(requests // 2, 200)
        d = await latencies(*direct, concurrency, count)
        g = await latencies(*gateway, concurrency, count)
        report["latency"][f"c{concurrency}"] = summary(d, g)
    direct_rps = await throughput(*direct, 50, seconds)
    gateway_rps = await throughput(*gateway, 50, seconds)
    report["throughput"] = {
        "direct_rps": round(direct_rps, 1), "catalyst_rps": round(gateway_rps, 1),
        "ratio": round(gateway_rps / direct_rps, 3),
    }  # fmt: skip
    stream_direct = (mock_url + "/v1/chat/completions", {"Authorization": "Bearer direct"})
    stream_gateway = (catalyst_url + "/v1/chat/completions", {"Authorization": f"Bearer {key}"})
    d, g = await first_token_ms(*stream_direct, 200), await first_token_ms(*stream_gateway, 200)
    report["ttft"] = summary(d, g)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="uvicorn")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--budget-usd", help="Give the tenant a monthly budget, so each request reserves in the ledger."
    )
    parser.add_argument("--postgres", action="store_true", help="Use PostgreSQL (pgserver) instead of SQLite.")
    parser.add_argument("--tracing", action="store_true", help="Export every span (console exporter, batched).")
    args = parser.parse_args()

    env = {"OTEL_TRACES_EXPORTER": "console"} if args.tracing else {}
    with stack(server=args.server, postgres=args.postgres, budget=args.budget_usd, env=env) as running:
        report = asyncio.run(measure(running.mock_url, running.url, running.key, args.requests, args.seconds))
    report["server"] = args.server
    report["budget_usd"] = args.budget_usd
    report["database"] = "postgresql" if args.postgres else "sqlite"
    report["tracing"] = args.tracing
    print(json.dumps(report, indent=2))
    c1, ttft, rps = report["latency"]["c1"]["p50"]["added_ms"], report["ttft"]["p50"]["added_ms"], report["throughput"]
    print(
        f"\n{args.server}: added p50 at c=1 {c1:.2f} ms | throughput {rps['catalyst_rps']:.0f} req/s "
        f"(direct {rps['direct_rps']:.0f}) | TTFT overhead p50 {ttft:.2f} ms"
    )


if __name__ == "__main__":
    main()
