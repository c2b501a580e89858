"""Vectors of any embedding model: the column takes any dimensions (a tenant's provider model may
make 1,536), each row says how many, and an HNSW index per common size covers its rows (a partial
index on the cast). Rows of other sizes are searched exactly, within their tenant and scope.
Each row expires with its entry (a periodic task deletes it), and the table is UNLOGGED: a cache
writes no WAL."""

from django.db import migrations

INDEXED = (256, 384, 512, 768, 1024, 1536)  # pgvector's HNSW takes at most 2,000 dimensions

FORWARD = """
DROP INDEX IF EXISTS cache_vector_embedding;
ALTER TABLE cache_vector ALTER COLUMN embedding TYPE vector;
ALTER TABLE cache_vector ADD COLUMN dimensions smallint NOT NULL DEFAULT 256;
ALTER TABLE cache_vector ALTER COLUMN dimensions DROP DEFAULT;
ALTER TABLE cache_vector ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '1 day';
ALTER TABLE cache_vector ALTER COLUMN expires_at DROP DEFAULT;
CREATE INDEX cache_vector_expiry ON cache_vector (expires_at);
ALTER TABLE cache_vector SET UNLOGGED;
""" + "".join(
    f"CREATE INDEX cache_vector_hnsw_{size} ON cache_vector "
    f"USING hnsw ((embedding::vector({size})) vector_cosine_ops) WHERE dimensions = {size};\n"
    for size in INDEXED
)

BACKWARD = (
    "".join(f"DROP INDEX IF EXISTS cache_vector_hnsw_{size};\n" for size in INDEXED)
    + """
DELETE FROM cache_vector WHERE dimensions <> 256;
ALTER TABLE cache_vector DROP COLUMN dimensions;
ALTER TABLE cache_vector ALTER COLUMN embedding TYPE vector(256);
CREATE INDEX IF NOT EXISTS cache_vector_embedding ON cache_vector USING hnsw (embedding vector_cosine_ops);
"""
)


def forward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("cache", "0004_vectors")]
    operations = [migrations.RunPython(forward, backward)]
