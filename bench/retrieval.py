"""Retrieval at scale: hybrid search over one tenant's chunks among many tenants', isolation, and
ingestion throughput.

    .venv/bin/python bench/retrieval.py [--chunks 1000000] [--tenant-chunks 100000] [--queries 300]

Starts a throwaway PostgreSQL 16 with pgvector (pgserver) and migrates. Then:
1. Ingestion: one generated text file (about 1 MB, 1,500 chunks of 200 tokens) is ingested as a
   tenant's upload is (extract, chunk, embed with the packaged model, write): chunks per second.
2. Isolation (`--probe`): five tenants ingest the same document; 10,000 searches in all, each
   result checked to be a chunk of the tenant that searched.
3. Scale: `--chunks` generated passages in all, `--tenant-chunks` of them the bench tenant's and
   the rest spread over 20 other tenants, written with COPY; the HNSW and full-text indexes are
   built after the load, as a restore would. Passages are embedded with the packaged model.
4. Search: `--queries` hybrid searches of the bench tenant's store (the query of a stored passage's
   topic), timed p50/p95/p99 in ms, and every result checked to be the bench tenant's own chunk.
Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOPICS = ("invoice", "refund", "shipment", "contract", "password", "warranty", "subscription", "delivery",
          "battery", "printer", "router", "license", "backup", "payroll", "holiday", "insurance")  # fmt: skip
VERBS = ("renew", "cancel", "track", "reset", "update", "export", "repair", "replace", "approve", "archive")
PLACES = ("Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Quebec", "Tartu", "Porto", "Accra", "Perth")


def passage(n: int) -> str:
    rng = random.Random(n)  # noqa: S311 - reproducible text, not secrets
    topic, verb, place = rng.choice(TOPICS), rng.choice(VERBS), rng.choice(PLACES)
    days, desk = rng.randint(1, 9), rng.randint(100, 999)
    return (f"Article {n}: to {verb} a {topic} in the {place} office, open the {topic} page, choose {verb}, "
            f"and confirm with the code sent by e-mail. The {place} team answers {topic} questions within "
            f"{days} working days; urgent cases about a {topic} go to desk {desk}.")  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {name: round(ordered[min(int(len(ordered) * q), len(ordered) - 1)], 2)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}  # fmt: skip


def ingestion(tenant, principal) -> dict:
    from apps.retrieval import ingest, services
    from apps.retrieval.models import VectorStoreFile

    text = "\n\n".join(passage(n) for n in range(4000)).encode()
    stored = services.create_file(principal, tenant.tier.name, "articles.txt", "assistants", text, "text/plain", None)
    store, _ = services.create_store(principal, "ingest", {}, None, [], (800, 400))
    attachment = services.attach(tenant.pk, store, stored.public_id, {}, (200, 50))
    started = time.perf_counter()
    status = asyncio.run(ingest.ingest(attachment.pk, principal))
    seconds = time.perf_counter() - started
    chunks = VectorStoreFile.objects.get(pk=attachment.pk).chunks
    return {"status": status, "bytes": len(text), "chunks": chunks, "seconds": round(seconds, 2),
            "chunks_per_second": round(chunks / seconds, 1)}  # fmt: skip


def probe(tenants, searches_in_all: int) -> dict:
    """Tenants holding identical documents (ingested as uploads are), searched `searches_in_all`
    times in all: every result must be a chunk of the tenant that searched."""
    from apps.embeddings.local import local_embedder
    from apps.retrieval import ingest, search, services
    from apps.retrieval.models import Chunk
    from apps.tenancy.principal import Principal

    text = "\n\n".join(passage(n) for n in range(300)).encode()
    stores = {}
    for tenant in tenants:
        principal = Principal(tenant.pk, tenant.slug, "unlimited", "api_key")
        stored = services.create_file(principal, "unlimited", "same.txt", "assistants", text, "text/plain", None)
        store, _ = services.create_store(principal, "same", {}, None, [], (800, 400))
        attachment = services.attach(tenant.pk, store, stored.public_id, {}, (100, 20))
        asyncio.run(ingest.ingest(attachment.pk, principal))
        stores[tenant.pk] = (store.pk, [attachment.pk])
    owner = dict(Chunk.objects.filter(tenant__in=tenants).values_list("pk", "tenant_id"))
    rows = len(owner) // len(tenants)
    rng = random.Random(5)  # noqa: S311
    asked = [passage(rng.randrange(300)).split(":", 1)[1][:80] for _ in range(200)]
    vectors = local_embedder().embed(asked)
    foreign = results = 0
    started = time.perf_counter()
    for n in range(searches_in_all):
        tenant = tenants[n % len(tenants)]
        store_id, attachments = stores[tenant.pk]
        hits = search.search(tenant.pk, [store_id], attachments, vectors[n % 200], asked[n % 200], 10, rows)
        results += len(hits)
        foreign += sum(owner[hit.chunk_id] != tenant.pk for hit in hits)
    return {"tenants": len(tenants), "chunks_each": len(owner) // len(tenants), "searches": searches_in_all,
            "results": results, "results_of_other_tenants": foreign,
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def load(tenants, total: int, own: int) -> tuple[dict, dict]:
    """COPY `total` chunks: `own` of the first tenant, the rest spread over the others."""
    from django.db import connection

    from apps.embeddings.local import local_embedder
    from apps.retrieval.models import StoredFile, VectorStore, VectorStoreFile

    embedder, layout = local_embedder(), {}
    for index, tenant in enumerate(tenants):
        store = VectorStore.objects.create(tenant=tenant, name="scale")
        files = [VectorStoreFile.objects.create(
            tenant=tenant, store=store, status="completed", space="local/256", file=StoredFile.objects.create(
                tenant=tenant, filename=f"part-{k}.txt", purpose="assistants", bytes=1, content_type="text/plain",
                sha256="0" * 64, storage_name=f"none-{index}-{k}")) for k in range(10)]  # fmt: skip
        layout[tenant.pk] = (store, files)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS retrieval_chunk_hnsw_256")
        cursor.execute("DROP INDEX IF EXISTS retrieval_chunk_search")
    started, written = time.perf_counter(), 0
    others = tenants[1:]
    raw = connection.connection  # psycopg's connection, for COPY
    while written < total:
        batch = list(range(written, min(total, written + 5000)))
        texts = [passage(n) for n in batch]
        vectors = embedder.embed(texts)
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY retrieval_chunk (tenant_id, store_id, attachment_id, position, text, tokens, dimensions, "
                "embedding) FROM STDIN"
            ) as copy,
        ):
            for n, text, vector in zip(batch, texts, vectors, strict=True):
                tenant = tenants[0] if n < own else others[n % len(others)]
                store, files = layout[tenant.pk]
                literal = "[" + ",".join(f"{x:.6g}" for x in vector.tolist()) + "]"
                copy.write_row((tenant.pk, store.pk, files[n % 10].pk, n, text, 60, 256, literal))
        raw.commit()
        written += len(batch)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '4GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute("CREATE INDEX retrieval_chunk_search ON retrieval_chunk USING gin (search)")
        text_index = time.perf_counter() - started
        cursor.execute("CREATE INDEX retrieval_chunk_hnsw_256 ON retrieval_chunk "
                       "USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE dimensions = 256")  # fmt: skip
        cursor.execute("ANALYZE retrieval_chunk")
    return layout, {"chunks": total, "tenant_chunks": own, "tenants": len(tenants), "copy_seconds": round(loaded, 1),
                    "gin_seconds": round(text_index, 1),
                    "hnsw_seconds": round(time.perf_counter() - started - text_index, 1)}  # fmt: skip


def searches(tenant, layout, queries: int, own: int, explain: bool) -> dict:
    from apps.embeddings.local import local_embedder
    from apps.retrieval import search
    from apps.retrieval.models import Chunk, vector_literal

    store, files = layout[tenant.pk]
    attachment_ids = [f.pk for f in files]
    rng = random.Random(3)  # noqa: S311
    asked = [passage(rng.randrange(own)).split(":", 1)[1][:90] for _ in range(queries)]
    vectors = local_embedder().embed(asked)
    search.search(tenant.pk, [store.pk], attachment_ids, vectors[0], asked[0], 10, own)  # warm
    timings, foreign, found = [], 0, 0
    for question, vector in zip(asked, vectors, strict=True):
        started = time.perf_counter()
        hits = search.search(tenant.pk, [store.pk], attachment_ids, vector, question, 10, own)
        timings.append((time.perf_counter() - started) * 1000)
        found += len(hits)
        owners = set(Chunk.objects.filter(pk__in=[h.chunk_id for h in hits]).values_list("tenant_id", flat=True))
        foreign += len(owners - {tenant.pk})
    # the approximate nearest chunks against the exact ones, for the first 50 questions
    from django.db import connection, transaction

    agreed = 0
    for question, vector in list(zip(asked, vectors, strict=True))[:50]:
        literal = vector_literal(vector)
        params = {"vector": literal, "query": question, "tenant": tenant.pk, "stores": [store.pk],
                  "attachments": attachment_ids, "candidates": 40}  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            nearest, _, _ = search.rankings(cursor, params, 256, own, 10)
            cursor.execute(search._nearest_sql(256, False), params)
            exact = [row[0] for row in cursor.fetchall()]
        agreed += len(set(nearest[:10]) & set(exact[:10]))
    recall = round(agreed / (50 * 10), 3)
    if explain:
        from django.db import connection, transaction

        literal = vector_literal(vectors[0])
        params = {"vector": literal, "query": asked[0], "tenant": tenant.pk, "stores": [store.pk],
                  "attachments": attachment_ids, "candidates": 40}  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {search._ef_search(cursor, 40, own)}")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + search._nearest_sql(256, own > search.EXACT_ROWS), params)
            print("\n".join(row[0][:300] for row in cursor.fetchall()), flush=True)
    return {"queries": queries, "results": found, "results_of_other_tenants": foreign, **percentiles(timings),
            "nearest_recall_at_10_against_exact": recall}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--tenant-chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--explain", action="store_true", help="print the query plan of one search")
    parser.add_argument("--probe", type=int, default=10_000, help="isolation searches (0: none)")
    parser.add_argument("--keep", help="a directory for the database, kept: a second run searches it again")
    args = parser.parse_args()
    import pgserver

    with contextlib.ExitStack() as stack:
        var_dir = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        Path(var_dir).mkdir(parents=True, exist_ok=True)
        loaded = Path(var_dir) / "loaded.json"
        server = pgserver.get_server(Path(var_dir) / "pgdata", cleanup_mode=None if args.keep else "stop")
        os.environ.update({"DJANGO_SETTINGS_MODULE": "catalyst.settings.local", "CATALYST_VAR_DIR": str(var_dir),
                           "DATABASE_URL": server.get_uri(), "DEBUG": "0"})  # fmt: skip
        import django

        django.setup()
        from django.core.management import call_command

        from apps.retrieval.models import VectorStore, VectorStoreFile
        from apps.tenancy import services
        from apps.tenancy.models import Tenant
        from apps.tenancy.principal import Principal

        if loaded.exists():
            report = json.loads(loaded.read_text())
            tenants = [Tenant.objects.get(slug=f"t{n}") for n in range(21)]
            layout = {}
            for tenant in tenants:
                store = VectorStore.objects.get(tenant=tenant, name="scale")
                layout[tenant.pk] = (store, list(VectorStoreFile.objects.filter(store=store).order_by("pk")))
        else:
            call_command("migrate", verbosity=0)
            tenants = [services.tenant_onboard(slug=f"t{n}", name=f"T{n}", tier="unlimited").tenant for n in range(21)]
            principal = Principal(tenants[0].pk, tenants[0].slug, "unlimited", "api_key")
            report = {"ingestion": ingestion(tenants[0], principal)}
            print(json.dumps(report), flush=True)
            if args.probe:
                report["isolation"] = probe(tenants[1:6], args.probe)
                print(json.dumps(report["isolation"]), flush=True)
            layout, report["scale"] = load(tenants, args.chunks, args.tenant_chunks)
            print(json.dumps(report["scale"]), flush=True)
            if args.keep:
                loaded.write_text(json.dumps(report))
        report["search"] = searches(tenants[0], layout, args.queries, report["scale"]["tenant_chunks"], args.explain)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
