"""Check that the services the settings name answer, and say what to do when one does not.

`make run` runs this first, so a stopped Redis or database gets a sentence, not a traceback."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Command(BaseCommand):
    help = "Check that the database and Redis (when REDIS_URL is set) answer; explain what to do if not."

    def handle(self, *args, **options) -> None:
        problems = []
        try:
            connection.ensure_connection()
        except DatabaseError as error:
            problems.append(
                f"The database ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, DATABASE_URL) is not "
                f"answering: {str(error).strip().splitlines()[0]}. Start it, or unset DATABASE_URL to use SQLite."
            )
        if settings.REDIS_URL:
            try:
                redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            except redis.RedisError as error:
                problems.append(
                    f"Redis at {without_password(settings.REDIS_URL)} (REDIS_URL) is not answering: "
                    f"{str(error).rstrip('.')}. Start "
                    "Redis, or unset REDIS_URL to run on the embedded default (no services needed)."
                )
        if problems:
            raise CommandError("\n".join(problems))
        if options["verbosity"] > 1:
            self.stdout.write("Services answer.")
