"""SQLite refuses to alter or delete audit entries too (0002 covers PostgreSQL), with the same one
exception: setting a payload to NULL. Checkpoints are append-only on both, without exception.

SQLite has no TRUNCATE (a DELETE without WHERE still fires the row trigger) and no row-to-JSON
comparison, so its UPDATE trigger names every column of 0001 but the payload. A later migration
that rebuilds either table on SQLite (Django does, for most column changes) drops its triggers
with the old table: it must create them again, with any new column named.
"""

from django.db import migrations

ENTRY_COLUMNS = (
    "id", "event_id", "created_at", "tenant_id", "tenant_slug", "actor_type", "actor", "action", "object_type",
    "object_id", "request_id", "payload_digest", "prev_hash", "hash",
)  # fmt: skip
_CHANGED = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in ENTRY_COLUMNS)

SQLITE_FORBID = [
    f"""CREATE TRIGGER audit_entry_append_only_update BEFORE UPDATE ON audit_auditentry
    WHEN NEW.payload IS NOT NULL OR {_CHANGED}
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_entry_append_only_delete BEFORE DELETE ON audit_auditentry
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (DELETE refused)'); END""",
    """CREATE TRIGGER audit_checkpoint_append_only_update BEFORE UPDATE ON audit_auditcheckpoint
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_checkpoint_append_only_delete BEFORE DELETE ON audit_auditcheckpoint
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only (DELETE refused)'); END""",
]
SQLITE_ALLOW = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "audit_checkpoint_append_only_delete", "audit_checkpoint_append_only_update",
        "audit_entry_append_only_delete", "audit_entry_append_only_update",
    )
]  # fmt: skip

POSTGRESQL_FORBID = """
CREATE OR REPLACE FUNCTION audit_checkpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only();
"""
POSTGRESQL_ALLOW = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_append_only();
"""


def _run(schema_editor, sqlite: list[str], postgresql: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)


def forbid(apps, schema_editor) -> None:
    _run(schema_editor, SQLITE_FORBID, POSTGRESQL_FORBID)


def allow(apps, schema_editor) -> None:
    _run(schema_editor, SQLITE_ALLOW, POSTGRESQL_ALLOW)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_auditcheckpoint")]
    operations = [migrations.RunPython(forbid, allow)]
