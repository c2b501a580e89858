"""The semantic cache's vectors, on PostgreSQL only (pgvector, HNSW on cosine distance). The
embedded default (SQLite) keeps them in memory (apps/cache/vectors.py)."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS cache_vector (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenancy_tenant (id) ON DELETE CASCADE,
    scope char(64) NOT NULL,
    entry_key varchar(100) NOT NULL,
    question text NOT NULL,
    embedding vector(256) NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_vector_scope ON cache_vector (tenant_id, scope);
CREATE INDEX IF NOT EXISTS cache_vector_embedding ON cache_vector USING hnsw (embedding vector_cosine_ops);
"""


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TABLE IF EXISTS cache_vector")


class Migration(migrations.Migration):
    dependencies = [("cache", "0003_purges"), ("tenancy", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
