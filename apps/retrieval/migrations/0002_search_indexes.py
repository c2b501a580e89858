"""Search indexes on PostgreSQL: a full-text vector of each chunk (a generated column, English
stemming) with a GIN index, and an HNSW index per common embedding size (a partial index on the
cast, as the semantic cache's vectors have). Chunks of other sizes are searched exactly, within
their tenant and store. SQLite has neither; the embedded default searches in process."""

from django.db import migrations

INDEXED = (256, 384, 512, 768, 1024, 1536)  # pgvector's HNSW takes at most 2,000 dimensions

FORWARD = """
ALTER TABLE retrieval_chunk ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;
CREATE INDEX retrieval_chunk_search ON retrieval_chunk USING gin (search);
""" + "".join(
    f"CREATE INDEX retrieval_chunk_hnsw_{size} ON retrieval_chunk "
    f"USING hnsw ((embedding::vector({size})) vector_cosine_ops) WHERE dimensions = {size};\n"
    for size in INDEXED
)

BACKWARD = "".join(f"DROP INDEX IF EXISTS retrieval_chunk_hnsw_{size};\n" for size in INDEXED) + (
    "DROP INDEX IF EXISTS retrieval_chunk_search;\nALTER TABLE retrieval_chunk DROP COLUMN IF EXISTS search;\n"
)


def forward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
