"""Database connection upkeep for code the lean API handler runs (it sends no request signals)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections


def refresh_connections() -> None:
    """What Django's request_started receiver does: drop a broken or expired connection before use.

    Connections inside an atomic block (a test's transaction, a caller's transaction) are left
    alone; closing them would break the transaction.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def in_db(function):
    """`function` (a query) as a coroutine function: run off the event loop on Django's one sync
    thread, on a fresh connection (the lean handler sends no request signals)."""

    def call(*args, **kwargs):
        refresh_connections()
        return function(*args, **kwargs)

    return sync_to_async(call)


def insert_rows(model, rows: list[dict]) -> None:
    """Insert many rows with one parameterised `executemany`: for the batch writers, where the ORM's
    per-row SQL compilation cost more CPU than the database did. Each row must name every
    concrete field but the primary key; values are prepared by the fields themselves."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    connection = connections[model.objects.db]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names from the model
    values = [[f.get_db_prep_save(row[f.attname], connection) for f in fields] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
