"""Enable pgvector on PostgreSQL (semantic cache and retrieval store embeddings in it)."""

from django.db import migrations


def enable_pgvector(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS vector")


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [migrations.RunPython(enable_pgvector, migrations.RunPython.noop)]
