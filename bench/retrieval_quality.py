"""Retrieval quality: recall@5 of hybrid search on a question set built from a public text.

    .venv/bin/python bench/retrieval_quality.py

The text: the module docstrings of 30 modules of Python's standard library (Python Software
Foundation licence), one file per module, ingested as uploads are (chunks of 200 tokens, 50 of
overlap, the packaged embedding model). The questions were written before the index was built and
before the docstrings were read: one per module, asking for what the module is known to do, in
other words than its name. A question counts as answered when a chunk of its module's file is in
the top 5 results (and top 1 is reported too). Also run with the keyword half and the vector half
alone, to show what each adds. Nothing here is a test; figures go to docs/performance.md.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = {
    "json": "How do I turn a Python dictionary into a JSON string?",
    "csv": "How can I read rows from a comma-separated values file?",
    "argparse": "How do I parse command-line options and arguments for my script?",
    "pickle": "How can I serialize Python objects to bytes and restore them later?",
    "heapq": "How do I maintain a priority queue with a binary heap?",
    "bisect": "How can I insert into a sorted list while keeping it sorted?",
    "textwrap": "How do I wrap a long paragraph of text to a fixed line width?",
    "shlex": "How do I split a shell-like command string into tokens?",
    "tarfile": "How can I read and write tar archives, compressed with gzip?",
    "difflib": "How do I compute the differences between two sequences of lines?",
    "fnmatch": "How do I match filenames against Unix shell-style wildcards?",
    "tempfile": "How can I create a temporary file or directory safely?",
    "shutil": "How do I copy and remove whole directory trees?",
    "random": "How do I generate pseudo-random numbers from various distributions?",
    "statistics": "How do I calculate the mean, median and standard deviation of data?",
    "fractions": "How can I do exact arithmetic with rational numbers?",
    "decimal": "How do I do decimal floating point arithmetic with exact rounding for money?",
    "collections": "Which container types provide named tuples, ordered dictionaries and counters?",
    "string": "Where are constants like ascii_letters and digits defined?",
    "re": "How do I search text with regular expressions?",
    "base64": "How do I encode binary data as base64 text?",
    "hashlib": "How do I compute a SHA-256 digest of some bytes?",
    "hmac": "How do I compute a keyed-hash message authentication code?",
    "secrets": "How should I generate secure random tokens for passwords?",
    "uuid": "How do I generate universally unique identifiers?",
    "ipaddress": "How do I check whether an IPv4 address belongs to a network?",
    "calendar": "How can I print a calendar of a month?",
    "configparser": "How do I read INI configuration files with sections?",
    "queue": "Which queue can safely pass work between threads?",
    "gettext": "How do I translate my program's messages into other languages?",
}


def main() -> None:
    import pgserver

    with tempfile.TemporaryDirectory() as var_dir:
        server = pgserver.get_server(Path(var_dir) / "pgdata", cleanup_mode="stop")
        os.environ.update({"DJANGO_SETTINGS_MODULE": "catalyst.settings.local", "CATALYST_VAR_DIR": var_dir,
                           "DATABASE_URL": server.get_uri(), "DEBUG": "0"})  # fmt: skip
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from apps.embeddings.local import local_embedder
        from apps.retrieval import ingest, search, services
        from apps.retrieval.models import Chunk
        from apps.tenancy import services as tenancy
        from apps.tenancy.principal import Principal

        call_command("migrate", verbosity=0)
        tenant = tenancy.tenant_onboard(slug="quality", name="Quality", tier="unlimited").tenant
        principal = Principal(tenant.pk, tenant.slug, "unlimited", "api_key")
        store, _ = services.create_store(principal, "stdlib", {}, None, [], (200, 50))
        files = {}
        for module in QUESTIONS:
            text = (importlib.import_module(module).__doc__ or "").encode()
            stored = services.create_file(
                principal, "unlimited", f"{module}.txt", "assistants", text, "text/plain", None
            )
            attachment = services.attach(tenant.pk, store, stored.public_id, {}, (200, 50))
            asyncio.run(ingest.ingest(attachment.pk, principal))
            files[attachment.pk] = module
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE retrieval_chunk")
        vectors = local_embedder().embed(list(QUESTIONS.values()))
        owner = dict(Chunk.objects.filter(tenant=tenant).values_list("pk", "attachment_id"))
        report = {"modules": len(QUESTIONS), "chunks": len(owner)}
        found = {"hybrid": [], "vector only": [], "keywords only": []}
        for (module, question), vector in zip(QUESTIONS.items(), vectors, strict=True):
            hits = search.search(tenant.pk, [store.pk], list(files), vector, question, 5, len(owner))
            found["hybrid"].append((module, [files[hit.attachment_id] for hit in hits]))
            params = search._params(tenant.pk, [store.pk], list(files), vector, question, 5)
            with transaction.atomic(), connection.cursor() as cursor:
                nearest, keyword, _ = search.rankings(cursor, params, vector.shape[0], len(owner))
            found["vector only"].append((module, [files[owner[key]] for key in nearest[:5]]))
            found["keywords only"].append((module, [files[owner[key]] for key in keyword[:5]]))
        for mode, answers in found.items():
            report[mode] = {
                "recall_at_1": round(sum(bool(f) and f[0] == m for m, f in answers) / len(answers), 3),
                "recall_at_5": round(sum(m in f for m, f in answers) / len(answers), 3),
            }
        report["missed (hybrid)"] = [m for m, f in found["hybrid"] if m not in f]
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
