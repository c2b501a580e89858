"""Real services for the test suite: PostgreSQL with pgvector and Redis.

DATABASE_URL and REDIS_URL win when set. Otherwise PostgreSQL comes from `pgserver` (PostgreSQL 16
with pgvector, started from Python under var/) and Redis from the local server on 6379, in a
database and key prefix of this run's own that the suite deletes when it ends.
"""

from __future__ import annotations

import os
from pathlib import Path

_server = None  # keeps the embedded PostgreSQL alive for the life of the process

TEST_REDIS_URL = "redis://127.0.0.1:6379/9"


def embedded_postgres_url(var_dir: Path) -> str:
    global _server
    import pgserver

    if _server is None:
        data = var_dir / "test-pgdata"
        data.parent.mkdir(parents=True, exist_ok=True)
        _server = pgserver.get_server(str(data), cleanup_mode="stop")
    return _server.get_uri()


def configure_test_environment(var_dir: Path) -> None:
    """Fill DATABASE_URL, REDIS_URL and a per-run key prefix before settings are read."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_postgres_url(var_dir)
    os.environ.setdefault("REDIS_URL", TEST_REDIS_URL)
    os.environ.setdefault("HOTSTORE_PREFIX", f"catalyst-test-{os.getpid()}:")
