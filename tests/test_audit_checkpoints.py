"""Audit checkpoints: deleting the newest entries or tampering with a checkpoint is named, a copy
outside the database still names it, and the embedded default (SQLite) is append-only too."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from apps.audit import trail
from apps.audit.chain import digest, entry_hash, verify_all
from apps.audit.checkpoints import FIELDS, take_checkpoint, verify_stored
from apps.audit.models import GENESIS, AuditCheckpoint, AuditEntry
from catalyst.testing.live import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "HOTSTORE_PREFIX", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def triggers_off() -> Iterator[None]:
    """As a database superuser could: skip the append-only triggers, inside the test's transaction."""
    _sql("SET session_replication_role = replica")
    try:
        yield
    finally:
        _sql("RESET session_replication_role")


def _newest_ids(n: int) -> list[int]:
    return list(AuditEntry.objects.order_by("-id").values_list("id", flat=True)[:n])


def _append(action: str = "test.more") -> AuditEntry:
    trail.record_now(trail.event(action, actor_type="system", actor="system"))
    return AuditEntry.objects.order_by("-id").first()


def test_deleting_the_newest_entries_fails_verification_naming_the_checkpoint_and_the_lost_entries(world, staff_client):
    checkpoint = take_checkpoint()
    *newest, kept = _newest_ids(3)
    before = io.StringIO()
    call_command("verify_audit", stdout=before)

    with triggers_off():
        _sql("DELETE FROM audit_auditentry WHERE id IN (%s, %s)", newest)
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    page = staff_client.get(reverse("admin:audit_auditentry_verify"), follow=True).content.decode()

    problem = (
        f"#{checkpoint.pk} (entry #{newest[0]}, {checkpoint.count} entries) names an entry that no "
        f"longer exists: the newest entries were deleted (the trail now ends at entry #{kept})"
    )
    assert (checkpoint.entry_id, checkpoint.count) == (newest[0], AuditEntry.objects.count() + 2)
    assert before.getvalue() == f"The audit trail is intact: {checkpoint.count} entries verified.\n"
    assert verify_all() == (checkpoint.count - 2, None)  # the chain alone still holds: a valid shorter trail
    assert str(failed.value) == f"Checkpoint {problem}."
    assert f"An audit checkpoint does not hold: checkpoint {problem}." in page
    assert "The audit trail is intact" not in page


def test_a_checkpoint_with_a_tampered_signature_is_reported_and_so_is_the_link_of_the_next(world):
    first = take_checkpoint()
    _append()
    second = take_checkpoint()

    with triggers_off():
        _sql("UPDATE audit_auditcheckpoint SET signature = %s WHERE id = %s", ["0" * 64, first.pk])
    stored, problems = verify_stored()

    assert stored == AuditCheckpoint.objects.count()
    assert problems == [
        f"checkpoint #{first.pk} (entry #{first.entry_id}, {first.count} entries) has an invalid signature: "
        "it was altered, or signed with another key",
        f"checkpoint #{second.pk} (entry #{second.entry_id}, {second.count} entries) does not follow "
        f"checkpoint #{first.pk}: one between them was deleted, or one of them was altered",
    ]
    with pytest.raises(CommandError, match=f"Checkpoint #{first.pk} .* has an invalid signature"):
        call_command("verify_audit")


def test_a_checkpoint_with_a_tampered_count_is_reported(world):
    checkpoint = take_checkpoint()

    with triggers_off():
        _sql("UPDATE audit_auditcheckpoint SET count = count + 1 WHERE id = %s", [checkpoint.pk])
    problems = verify_stored()[1]

    where = f"checkpoint #{checkpoint.pk} (entry #{checkpoint.entry_id}, {checkpoint.count + 1} entries)"
    assert problems == [
        f"{where} has an invalid signature: it was altered, or signed with another key",
        f"{where} no longer matches the trail, which holds {checkpoint.count} entries up to entry "
        f"#{checkpoint.entry_id}: entries before it were deleted",
    ]


def test_no_checkpoint_is_written_while_the_head_has_not_moved(world):
    first = take_checkpoint()

    again = take_checkpoint()
    entry = _append()
    moved = take_checkpoint()

    assert again is None
    assert (moved.entry_id, moved.count, moved.head_hash) == (entry.pk, first.count + 1, entry.hash)
    assert moved.prev_signature == first.signature
    assert list(AuditCheckpoint.objects.filter(pk__gte=first.pk).values_list("pk", flat=True)) == [moved.pk, first.pk]
    assert verify_stored()[1] == []


def test_a_trail_that_ends_before_the_last_checkpoint_is_never_signed(world, caplog):
    checkpoint = take_checkpoint()
    with triggers_off():
        _sql("DELETE FROM audit_auditentry WHERE id = %s", [checkpoint.entry_id])

    refused = take_checkpoint()

    assert refused is None
    assert AuditCheckpoint.objects.order_by("-id").first() == checkpoint
    assert [r.getMessage() for r in caplog.records if r.name == "catalyst.audit"] == [
        "audit checkpoint refused: the trail ends before the last checkpoint's entry"
    ]


def test_the_copy_outside_the_database_names_deleted_entries_after_the_checkpoint_rows_are_gone_too(
    world, settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    copy = tmp_path / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_FILE = str(copy)
    caplog.set_level(logging.INFO, logger="catalyst.audit")
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = take_checkpoint()
    lines = [json.loads(line) for line in copy.read_text().splitlines()]
    logged = [
        {name: getattr(r, name) for name in FIELDS} for r in caplog.records if r.getMessage() == "audit.checkpoint"
    ]
    kept = _newest_ids(2)[1]

    with triggers_off():
        _sql("DELETE FROM audit_auditentry WHERE id = %s", [checkpoint.entry_id])
        _sql("DELETE FROM audit_auditcheckpoint")
    blind = io.StringIO()
    call_command("verify_audit", stdout=blind)
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit", "--checkpoints", str(copy))

    record = {
        "id": checkpoint.pk, "created_at": checkpoint.created_at.isoformat(), "entry_id": checkpoint.entry_id,
        "count": checkpoint.count, "head_hash": checkpoint.head_hash, "prev_signature": checkpoint.prev_signature,
        "signature": checkpoint.signature,
    }  # fmt: skip
    assert lines == [record]
    assert logged == [record]
    assert settings.SECRET_KEY not in caplog.text
    assert blind.getvalue() == f"The audit trail is intact: {checkpoint.count - 1} entries verified.\n"
    assert str(failed.value) == (
        f"In {copy}, checkpoint #{checkpoint.pk} (entry #{checkpoint.entry_id}, {checkpoint.count} entries) names "
        f"an entry that no longer exists: the newest entries were deleted (the trail now ends at entry #{kept})."
    )


def test_a_copy_that_is_not_json_lines_of_checkpoints_is_refused_by_line(db, tmp_path):
    copy = tmp_path / "checkpoints.jsonl"
    copy.write_text('{"id": 1}\n')

    with pytest.raises(CommandError) as failed:
        call_command("verify_audit", "--checkpoints", str(copy))

    assert str(failed.value) == (
        f"Cannot read the checkpoints: line 1 of {copy} is not a checkpoint (KeyError('created_at'))"
    )


def test_the_periodic_celery_task_signs_the_head_and_the_command_and_the_admin_verify_it(world, settings, staff_client):
    from apps.audit.tasks import checkpoint

    head = AuditEntry.objects.order_by("-id").first()

    result = checkpoint.delay()

    taken = AuditCheckpoint.objects.order_by("-id").first()
    assert result.get() == taken.pk
    assert (taken.entry_id, taken.count, taken.head_hash) == (head.pk, AuditEntry.objects.count(), head.hash)
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"] == {
        "task": "audit.checkpoint", "schedule": 60.0, "options": {"expires": 60.0},
    }  # fmt: skip
    out = io.StringIO()
    call_command("verify_audit", verbosity=2, stdout=out)
    page = staff_client.get(reverse("admin:audit_auditentry_verify"), follow=True).content.decode()
    count, stored = AuditEntry.objects.count(), AuditCheckpoint.objects.count()
    assert out.getvalue().splitlines() == [
        f"The audit trail is intact: {count} entries verified.",
        f"{stored} stored checkpoints hold.",
    ]
    assert f"The audit trail is intact: {count} entries verified. {stored} stored checkpoints hold." in page


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditcheckpoint SET count = count + 1 WHERE id = {pk}",
        "DELETE FROM audit_auditcheckpoint WHERE id = {pk}",
        "TRUNCATE audit_auditcheckpoint",
    ],
)
def test_postgresql_refuses_to_alter_delete_or_truncate_a_checkpoint(world, statement):
    checkpoint = take_checkpoint()

    with pytest.raises(DatabaseError, match="audit checkpoints are append-only"), transaction.atomic():
        _sql(statement.format(pk=checkpoint.pk))

    assert AuditCheckpoint.objects.get(pk=checkpoint.pk).count == checkpoint.count


# --- The embedded default: SQLite, migrated as `make run` does ----------------------------------


def _embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("AUDIT_CHECK")}
    return {**kept, "CATALYST_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "catalyst.settings.local", **extra}


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    var_dir = tmp_path_factory.mktemp("embedded")
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=_embedded_env(var_dir),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    return var_dir / "catalyst.sqlite3"


@pytest.fixture
def embedded(migrated_sqlite: Path, tmp_path: Path) -> Path:
    """A var dir of the test's own, holding a copy of the migrated database."""
    with (
        closing(sqlite3.connect(migrated_sqlite)) as source,
        closing(sqlite3.connect(tmp_path / "catalyst.sqlite3")) as copy,
    ):
        source.backup(copy)
    return tmp_path


def _insert_entry(db: sqlite3.Connection) -> tuple[int, str]:
    fields = {
        "event_id": uuid.uuid4().hex, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "tenant_id": None,
        "tenant_slug": "", "actor_type": "system", "actor": "system", "action": "test.embedded", "object_type": "",
        "object_id": "", "request_id": "", "payload_digest": digest({"n": 1}),
    }  # fmt: skip
    chained = entry_hash(fields, GENESIS)
    row = {**fields, "created_at": "2026-01-01 00:00:00", "payload": '{"n": 1}', "prev_hash": GENESIS, "hash": chained}
    cursor = db.execute(
        f"INSERT INTO audit_auditentry ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )
    db.commit()
    return cursor.lastrowid, chained


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET actor = 'mallory' WHERE id = ?",
        "UPDATE audit_auditentry SET payload = '{}' WHERE id = ?",
        "UPDATE audit_auditentry SET payload = NULL, hash = 'forged' WHERE id = ?",
        "DELETE FROM audit_auditentry WHERE id = ?",
    ],
)
def test_sqlite_refuses_to_alter_or_delete_an_entry(embedded, statement):
    with closing(sqlite3.connect(embedded / "catalyst.sqlite3")) as db:
        pk, chained = _insert_entry(db)

        with pytest.raises(sqlite3.IntegrityError, match="audit entries are append-only"):
            db.execute(statement, [pk])

        assert db.execute("SELECT actor, payload, hash FROM audit_auditentry").fetchall() == [
            ("system", '{"n": 1}', chained)
        ]


def test_sqlite_lets_a_payload_be_erased(embedded):
    with closing(sqlite3.connect(embedded / "catalyst.sqlite3")) as db:
        pk, chained = _insert_entry(db)

        db.execute("UPDATE audit_auditentry SET payload = NULL WHERE id = ?", [pk])
        db.commit()

        assert db.execute("SELECT id, payload, hash FROM audit_auditentry").fetchall() == [(pk, None, chained)]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditcheckpoint SET count = 2 WHERE id = ?", "DELETE FROM audit_auditcheckpoint WHERE id = ?"],
)
def test_sqlite_refuses_to_alter_or_delete_a_checkpoint(embedded, statement):
    with closing(sqlite3.connect(embedded / "catalyst.sqlite3")) as db:
        cursor = db.execute(
            "INSERT INTO audit_auditcheckpoint (created_at, entry_id, count, head_hash, prev_signature, signature) "
            "VALUES ('2026-01-01 00:00:00', 1, 1, 'h', '', 's')"
        )
        db.commit()

        with pytest.raises(sqlite3.IntegrityError, match="audit checkpoints are append-only"):
            db.execute(statement, [cursor.lastrowid])

        assert db.execute("SELECT entry_id, count FROM audit_auditcheckpoint").fetchall() == [(1, 1)]


def test_the_embedded_server_takes_checkpoints_on_its_own_and_only_when_the_head_moves(embedded):
    with closing(sqlite3.connect(embedded / "catalyst.sqlite3")) as db:
        pk, chained = _insert_entry(db)
    copy = embedded / "checkpoints.jsonl"
    env = _embedded_env(embedded, AUDIT_CHECKPOINT_SECONDS="0.1", AUDIT_CHECKPOINT_FILE=str(copy))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "catalyst.asgi:application"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", server)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (copy.exists() and copy.read_text()):
            time.sleep(0.05)
        time.sleep(0.5)  # several more ticks, with the head where it was
    finally:
        stop(server)

    lines = [json.loads(line) for line in copy.read_text().splitlines()]
    with closing(sqlite3.connect(embedded / "catalyst.sqlite3")) as db:
        rows = db.execute("SELECT id, entry_id, count, head_hash, prev_signature, signature FROM audit_auditcheckpoint")
        stored = rows.fetchall()
    assert [(line["entry_id"], line["count"], line["head_hash"], line["prev_signature"]) for line in lines] == [
        (pk, 1, chained, "")
    ]
    assert stored == [(lines[0]["id"], pk, 1, chained, "", lines[0]["signature"])]
