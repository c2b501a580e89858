"""Gateway overhead against the mock LLM, as ratios to a direct call in the same run.

    .venv/bin/python bench/gateway.py [--server daphne|uvicorn] [--requests 2000] [--seconds 10]
        [--postgres] [--budget-usd 1000] [--tracing otlp|console [--sample 0.1]] [--flusher web|worker]
        [--cache off|miss|hit]

Starts the mock LLM server and one Catalyst server process (local settings, DEBUG off, Redis for
the hot store, SQLite for the database or PostgreSQL with --postgres; authentication, rate
limiting, metering and JSON request logging on), seeds a tenant whose limits are checked but
never reached (and, with --budget-usd, a budget every request reserves against), then measures
with an aiohttp client:
  - added latency p50/p95/p99 of non-streamed chat at concurrency 1, 10 and 50;
  - throughput of the one Catalyst process at concurrency 50;
  - time-to-first-token overhead of streamed chat at concurrency 1.
--cache: the tenant's cache policy is off (the default, as before the cache existed); "miss" turns
the exact cache on and makes every prompt unique (each request is looked up, misses and is
stored); "hit" turns it on with one prompt, so every request after the first is a hit;
"semantic-miss" is "miss" in semantic mode, every prompt in one scope (each miss also embeds its
question, queries the vectors and stores one); "semantic-turn" makes each request a turn of a new
conversation, a scope no vector has yet (nothing is embedded or queried before the answer).
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
from harness import Stack, cpu_seconds, percentile, stack

from catalyst.testing.live import children, start_otlp_sink, stop

sent: collections.Counter[str] = collections.Counter()  # requests answered 200, by URL
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello to the benchmark"}]}


UNIQUE = {"on": False, "conversation": False}  # --cache miss: every request asks something new
_asked = iter(range(1 << 62))


def _body(body: dict) -> dict:
    if not UNIQUE["on"]:
        return body
    n = next(_asked)
    if UNIQUE["conversation"]:  # a turn of a conversation of its own: a semantic scope of its own
        earlier = [{"role": "user", "content": f"Hello, I am user {n}"}, {"role": "assistant", "content": "Hi!"}]
        return {**body, "messages": [*earlier, {"role": "user", "content": "Say hello to the benchmark"}]}
    return {**body, "messages": [{"role": "user", "content": f"Say hello to the benchmark {n}"}]}


async def one(session: aiohttp.ClientSession, url: str, headers: dict, body: dict) -> float:
    body = _body(body)
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    sent[url] += 1
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


async def throughput(url: str, headers: dict, concurrency: int, seconds: float) -> tuple[float, int]:
    """Requests per second at `concurrency` for `seconds`, and how many requests that was."""
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
        return done / (time.perf_counter() - started), done


async def first_token_ms(url: str, headers: dict, samples: int) -> list[float]:
    values = []
    async with aiohttp.ClientSession() as session:
        for _ in range(samples):
            body = _body({**BODY, "stream": True})
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                async for line in response.content:
                    if b'"content":"' in line and b'"content":""' not in line:
                        values.append((time.perf_counter() - started) * 1000)
                        break
                await response.read()
            sent[url] += 1
    return values


def summary(direct: list[float], gateway: list[float]) -> dict[str, float]:
    row = {}
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        d, g = percentile(direct, fraction), percentile(gateway, fraction)
        row[name] = {"direct_ms": round(d, 3), "catalyst_ms": round(g, 3), "added_ms": round(g - d, 3)}
    return row


async def measure(running: Stack, requests: int, seconds: float) -> dict:
    mock_url, catalyst_url, key = running.mock_url, running.url, running.key
    direct = (mock_url + "/v1/chat/completions", {"Authorization": "Bearer direct"})
    gateway = (catalyst_url + "/v1/chat/completions", {"Authorization": f"Bearer {key}"})
    report: dict = {"latency": {}}
    for concurrency in (1, 10, 50):
        count = requests if concurrency > 1 else max(requests // 2, 200)
        d = await latencies(*direct, concurrency, count)
        g = await latencies(*gateway, concurrency, count)
        report["latency"][f"c{concurrency}"] = summary(d, g)
    direct_rps, _ = await throughput(*direct, 50, seconds)
    processes: dict = {"server": running.server, "worker": running.worker}
    processes |= {f"server helper {pid}": pid for pid in children(running.server.pid)}  # the span exporter
    cpu_before = {name: cpu_seconds(process) for name, process in processes.items() if process}
    gateway_rps, served = await throughput(*gateway, 50, seconds)
    await asyncio.sleep(2 if running.worker else 0)  # the worker drains what the run queued
    cpu_ms = {name: (cpu_seconds(processes[name]) - before) * 1000 / served for name, before in cpu_before.items()}
    report["throughput"] = {
        "direct_rps": round(direct_rps, 1), "catalyst_rps": round(gateway_rps, 1),
        "ratio": round(gateway_rps / direct_rps, 3),
        "cpu_ms_per_request": {name: round(value, 3) for name, value in cpu_ms.items()},
    }  # fmt: skip
    stream_direct = (mock_url + "/v1/chat/completions", {"Authorization": "Bearer direct"})
    stream_gateway = (catalyst_url + "/v1/chat/completions", {"Authorization": f"Bearer {key}"})
    d, g = await first_token_ms(*stream_direct, 200), await first_token_ms(*stream_gateway, 200)
    report["ttft"] = summary(d, g)
    report["requests_to_catalyst"] = sent[stream_gateway[0]]
    return report


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """A stand-in collector in its own process (catalyst/testing/otlp_sink.py); yields its base URL."""
    url, sink = start_otlp_sink()
    try:
        yield url
    finally:
        stop(sink)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="uvicorn")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--budget-usd", help="Give the tenant a monthly budget, so each request reserves in the ledger."
    )
    parser.add_argument("--postgres", action="store_true", help="Use PostgreSQL (pgserver) instead of SQLite.")
    parser.add_argument(
        "--tracing", choices=("otlp", "console"),
        help="Export every span: over OTLP/HTTP to a stand-in collector (counted), or as JSON lines on stdout.",
    )  # fmt: skip
    parser.add_argument(
        "--sample", type=float, default=1.0,
        help="With --tracing: the share of requests traced (OTEL_TRACES_SAMPLER=parentbased_traceidratio).",
    )  # fmt: skip
    parser.add_argument(
        "--flusher", choices=("web", "worker"), default="web",
        help="Who writes usage records and audit entries to the database: the server, or a Celery worker.",
    )  # fmt: skip
    parser.add_argument(
        "--cache", choices=("off", "miss", "hit", "semantic-miss", "semantic-turn"), default="off",
        help="The tenant's cache: off; exact with every prompt new (misses); exact with one prompt (hits); "
        "semantic with every prompt new in one scope (each miss also embeds and queries the vectors); "
        "semantic with every request a turn of a new conversation (a scope no vector has yet).",
    )  # fmt: skip
    parser.add_argument(
        "--guardrails", choices=("off", "shipped", "output-pii"), default="off",
        help="The tenant's guardrails: off; the platform's shipped rules; shipped plus PII redacted from answers.",
    )  # fmt: skip
    args = parser.parse_args()
    UNIQUE["on"] = args.cache in ("miss", "semantic-miss", "semantic-turn")
    UNIQUE["conversation"] = args.cache == "semantic-turn"

    with contextlib.ExitStack() as running_sink:
        env = {"OTEL_TRACES_EXPORTER": args.tracing} if args.tracing else {}
        if args.tracing and args.sample < 1:
            env |= {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": str(args.sample)}
        if args.tracing == "otlp":
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink_url = running_sink.enter_context(otlp_sink())
        with stack(
            server=args.server,
            postgres=args.postgres,
            budget=args.budget_usd,
            env=env,
            flusher=args.flusher,
            guardrails=args.guardrails,
            cache_mode={"off": "off", "semantic-miss": "semantic", "semantic-turn": "semantic"}.get(
                args.cache, "exact"
            ),
        ) as running:
            report = asyncio.run(measure(running, args.requests, args.seconds))
        if args.tracing == "otlp":  # the server has stopped, so its last batch has been exported
            with urllib.request.urlopen(sink_url + "/count", timeout=5) as response:  # noqa: S310 (our sink)
                report["spans_exported"] = json.load(response)
    report["server"] = args.server
    report["budget_usd"] = args.budget_usd
    report["database"] = "postgresql" if args.postgres else "sqlite"
    report["tracing"] = args.tracing or "none"
    report["sample"] = args.sample if args.tracing else None
    report["flusher"] = args.flusher
    report["cache"] = args.cache
    report["guardrails"] = args.guardrails
    print(json.dumps(report, indent=2))
    c1, ttft, rps = report["latency"]["c1"]["p50"]["added_ms"], report["ttft"]["p50"]["added_ms"], report["throughput"]
    print(
        f"\n{args.server}: added p50 at c=1 {c1:.2f} ms | throughput {rps['catalyst_rps']:.0f} req/s "
        f"(direct {rps['direct_rps']:.0f}) | TTFT overhead p50 {ttft:.2f} ms"
    )


if __name__ == "__main__":
    main()
