"""What an agent run costs on top of the model calls it makes, against the mock LLM.

    .venv/bin/python bench/agent.py [--runs 300] [--seconds 6] [--concurrency 10]

Starts the mock and one Catalyst process (bench/harness.py), adds a catalogue model whose mock
upstream always calls the built-in calculator, and compares, in the same run:
  - direct: two /v1/generate calls in a row with `pipeline: "direct"` (two model calls);
  - agent: one /v1/generate with `pipeline: "agent"`, `tools: ["calculator"]` and `max_steps: 2`
    (two model calls, each through the whole pipeline, and two calculator calls; it ends at the
    step limit, so every run has the same shape).
Latency per iteration at concurrency 1 (p50, p95) and iterations a second at --concurrency; the
difference is the loop, the tool calls, the tool messages and the step accounting. Then, in
process, the agent stage's cost on a request that names no tools (an attribute read) and on
`pipeline: "auto"` for a tenant with no agent policy (a cached lookup), over 1,000,000 calls.
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

import aiohttp
from harness import ROOT, percentile, stack

CALLS = '[{"name":"calculator","arguments":{"expression":"6*7"}}]'
ADD_MODEL = f"""
from apps.catalogue.models import LlmModel
from apps.catalogue.snapshot import catalogue_changed
base = LlmModel.objects.get(name="gpt-4o-mini")
LlmModel.objects.create(name="agent-bench", provider=base.provider, upstream_name='gpt-mock@calls={CALLS}',
                        price_input=base.price_input, price_output=base.price_output)
catalogue_changed()
"""
OFF = """
import asyncio, time
from apps.gateway import pipeline
from apps.providers.types import ChatRequest
from apps.tenancy.principal import Principal
from apps.tools import agent, registry
from apps.cache.controls import NONE
principal = Principal(tenant_id=1, tenant_slug="bench", tier="unlimited", method="api_key")
request = pipeline.Request(principal, "req_bench", "generate", "gpt-4o-mini", ChatRequest(messages=[]))
async def measure(auto, count=1_000_000):
    started = time.perf_counter()
    for _ in range(count):
        request.agent = agent.Agent([], auto=True) if auto else None
        await agent.enter(request)
    return (time.perf_counter() - started) / count * 1e9
async def main():
    await registry.policy(1, "")  # the first lookup reads the database; later ones the cache
    print(round(await measure(False)), round(await measure(True)))
asyncio.run(main())
"""


async def direct(session: aiohttp.ClientSession, url: str, headers: dict) -> float:
    started = time.perf_counter()
    for _ in range(2):
        body = {"model": "gpt-4o-mini", "prompt": "What is 6 * 7?", "pipeline": "direct"}
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            await response.read()
    return (time.perf_counter() - started) * 1000


async def agent_run(session: aiohttp.ClientSession, url: str, headers: dict) -> float:
    started = time.perf_counter()
    body = {"model": "agent-bench", "prompt": "What is 6 * 7?", "pipeline": "agent", "tools": ["calculator"],
            "max_steps": 2}  # fmt: skip
    async with session.post(url, json=body, headers=headers) as response:
        answer = await response.json()
        assert response.status == 200 and answer["finish_reason"] == "limit", answer
        assert [step["outcome"] for step in answer["steps"]] == ["ok", "ok"], answer
    return (time.perf_counter() - started) * 1000


async def latency(kind, url: str, headers: dict, runs: int) -> list[float]:
    async with aiohttp.ClientSession() as session:
        for _ in range(20):  # warm up
            await kind(session, url, headers)
        return [await kind(session, url, headers) for _ in range(runs)]


async def throughput(kind, url: str, headers: dict, seconds: float, concurrency: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(session):
        nonlocal done
        while time.perf_counter() < deadline:
            await kind(session, url, headers)
            done += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with stack() as running:
        subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", ADD_MODEL], cwd=ROOT, env=running.env,
                       check=True)  # fmt: skip
        time.sleep(1.0)  # the server sees the catalogue change
        url, headers = running.url + "/v1/generate", {"Authorization": f"Bearer {running.key}"}
        rows = {}
        for name, kind in (("direct, 2 model calls", direct), ("agent, 2 model + 2 tool calls", agent_run)):
            values = asyncio.run(latency(kind, url, headers, args.runs))
            rate = asyncio.run(throughput(kind, url, headers, args.seconds, args.concurrency))
            rows[name] = (percentile(values, 0.5), percentile(values, 0.95), rate)
        off = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", OFF], cwd=ROOT,
                             env=running.env, check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    print(f"{'':32} {'p50':>9} {'p95':>9} {'runs/s @' + str(args.concurrency):>12}")
    for name, (p50, p95, rate) in rows.items():
        print(f"{name:32} {p50:7.2f}ms {p95:7.2f}ms {rate:12.1f}")
    (d50, d95, _), (a50, a95, _) = rows.values()
    print(f"agent minus direct: p50 {a50 - d50:+.2f} ms, p95 {a95 - d95:+.2f} ms")
    print(f"agent stage off: {off[0]} ns per request; auto without a policy: {off[1]} ns per request")


if __name__ == "__main__":
    main()
