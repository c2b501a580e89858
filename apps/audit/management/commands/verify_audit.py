"""Walk the audit chain from the first entry and name the first broken one, then check that every
checkpoint still holds (so the newest entries were not deleted); any problem exits with status 1."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.chain import verify_all
from apps.audit.checkpoints import read_checkpoints, verify_checkpoints, verify_stored
from apps.audit.models import AuditCheckpoint


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain and its checkpoints; name the first entry that was altered, "
        "deleted or reordered, and every checkpoint that no longer holds (the newest entries deleted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints", metavar="FILE", type=Path,
            help="Also verify the checkpoints copied to this JSON-lines file (AUDIT_CHECKPOINT_FILE, or the "
            '"audit.checkpoint" log lines): they still count when the checkpoint table was emptied too.',
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        checked, broken = verify_all()
        stored, problems = verify_stored()
        failures = [f"The audit trail is broken at {broken}. {checked} entries before it verified."] if broken else []
        failures += [f"{problem[0].upper()}{problem[1:]}." for problem in problems]
        if options["checkpoints"] is not None:
            copy = options["checkpoints"]
            # A copy may begin after the first checkpoint, or hold one host's share: no chain check.
            failures += [f"In {copy}, {problem}." for problem in verify_checkpoints(self._read(copy), whole=False)]
        if failures:
            raise CommandError("\n".join(failures))
        self.stdout.write(f"The audit trail is intact: {checked} entries verified.")
        if options["verbosity"] > 1:  # at -v 1 the report stays the one line it always was
            self.stdout.write(f"{stored} stored checkpoints hold.")

    def _read(self, path: Path) -> list[AuditCheckpoint]:
        try:
            return read_checkpoints(path)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the checkpoints: {error}") from error
