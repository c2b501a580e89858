"""The semantic lookup's cost with many entries in one tenant: embed the question, fetch the
nearest questions from pgvector (HNSW), run the ordered check on them.

    .venv/bin/python bench/semantic_lookup.py [--entries 100000] [--queries 500]

Starts a throwaway PostgreSQL 16 with pgvector (pgserver), migrates, stores `--entries` questions
of one tenant and scope (generated, all different), then times `--queries` lookups of rewordings
of stored questions (hits) and of new questions (misses). Prints the p50/p95/p99 in ms.
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_WORDS = {
    "subjects": "invoice order refund account password key budget report shipment contract ticket",
    "actions": "cancel track rotate export renew close open reset update download share archive",
    "owners": "team project customer vendor region department branch partner",
}
SUBJECTS, ACTIONS, OWNERS = (_WORDS[name].split() for name in ("subjects", "actions", "owners"))


def question(n: int) -> str:
    rng = random.Random(n)  # noqa: S311 - reproducible questions, not secrets
    return (f"How do I {rng.choice(ACTIONS)} the {rng.choice(SUBJECTS)} of {rng.choice(OWNERS)} {n} "
            f"before {rng.choice(['Monday', 'Friday', 'noon', 'tonight'])}?")  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {name: round(ordered[min(int(len(ordered) * q), len(ordered) - 1)], 3)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    import pgserver

    with tempfile.TemporaryDirectory() as var_dir:
        server = pgserver.get_server(Path(var_dir) / "pgdata", cleanup_mode="stop")
        os.environ.update({"DJANGO_SETTINGS_MODULE": "catalyst.settings.local", "CATALYST_VAR_DIR": var_dir,
                           "DATABASE_URL": server.get_uri(), "DEBUG": "0"})  # fmt: skip
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from apps.cache import semantic, vectors
        from apps.embeddings.local import local_embedder
        from apps.retrieval.models import vector_literal
        from apps.tenancy import services

        call_command("migrate", verbosity=0)
        tenant = services.tenant_onboard(slug="bench", name="Bench", tier="free").tenant
        embedder = local_embedder()
        store = vectors.vectors()
        scope = "s" * 64
        started = time.perf_counter()
        texts = [question(n) for n in range(args.entries)]
        with connection.cursor() as cursor:
            for first in range(0, args.entries, 2000):
                batch = texts[first : first + 2000]
                pairs = enumerate(zip(batch, embedder.embed(batch), strict=True), first)
                rows = [(tenant.pk, scope, f"cache:{tenant.pk}:{n}", text, vector_literal(vector), 256)
                        for n, (text, vector) in pairs]  # fmt: skip
                cursor.executemany(
                    "INSERT INTO cache_vector (tenant_id, scope, entry_key, question, embedding, dimensions, "
                    "created_at, expires_at) "
                    "VALUES (%s, %s, %s, %s, %s::vector, %s, now(), now() + interval '1 day')", rows,
                )  # fmt: skip
            cursor.execute("ANALYZE cache_vector")
        loaded = time.perf_counter() - started

        async def lookup(text: str) -> tuple[float, bool]:
            began = time.perf_counter()
            vector = embedder.embed([text])[0]
            found = False
            for candidate in await store.nearest(tenant.pk, scope, vector):
                if candidate.similarity >= 0.85 and semantic.same_question(
                    text, candidate.question, embedder.word_similarity
                ):
                    found = True
                    break
            return (time.perf_counter() - began) * 1000, found

        async def run() -> dict:
            rng = random.Random(7)  # noqa: S311
            hits, misses, served = [], [], 0
            for _ in range(20):
                await lookup(question(0).lower())
            for _ in range(args.queries):
                n = rng.randrange(args.entries)
                ms, found = await lookup(question(n).lower().rstrip("?"))  # a rewording of a stored question
                hits.append(ms)
                served += found
                new = f"What is the status of ticket {rng.randrange(10**9)} for the {rng.choice(OWNERS)}?"
                ms, _ = await lookup(new)
                misses.append(ms)
            return {"rewordings": percentiles(hits), "served_share": round(served / args.queries, 3),
                    "new_questions": percentiles(misses)}  # fmt: skip

        report = asyncio.run(run())
        report |= {"entries": args.entries, "load_seconds": round(loaded, 1)}
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
