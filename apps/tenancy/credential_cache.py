"""Authenticated credentials cached in the hot store, and their invalidation.

Entries are keyed by the SHA-256 of the presented key (or tenant and subject for JWTs), so a
steady-state request costs one hot-store read and no database query. Every change to a key,
tenant, membership or user deletes the affected entries at once and again after the
transaction commits, so no instance keeps serving a revoked key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction

from apps.core.hotstore import hot_store

ABSENT: dict = {}


def key_entry(key_hash: str) -> str:
    return f"cred:key:{key_hash}"


def member_entry(tenant_slug: str, user_id: int | str) -> str:
    return f"cred:member:{tenant_slug}:{user_id}"


def key_used_entry(key_id: int) -> str:
    return f"cred:used:{key_id}"


async def read(entry: str) -> dict | None:
    """The cached record, ABSENT for a cached negative answer, or None when not cached."""
    raw = await hot_store().get(entry)
    return None if raw is None else json.loads(raw)


async def write(entry: str, record: dict) -> None:
    await hot_store().set(entry, json.dumps(record), settings.CREDENTIAL_CACHE_SECONDS)


async def read_through(entry: str, load: Callable[..., dict], *args) -> dict:
    """The cached record, or the database's answer (ABSENT included), which is then cached."""
    record = await read(entry)
    if record is None:
        record = await sync_to_async(load)(*args)
        await write(entry, record)
    return record


def _forget(entries: list[str]) -> None:
    if not entries:
        return
    store = hot_store()
    store.delete_sync(*entries)
    transaction.on_commit(lambda: store.delete_sync(*entries))


def forget_keys(key_hashes: Iterable[str]) -> None:
    _forget([key_entry(h) for h in key_hashes])


def forget_tenant(tenant) -> None:
    """Drop every cached credential of a tenant (status, tier or membership changed)."""
    hashes = list(tenant.api_keys.values_list("key_hash", flat=True))
    members = list(tenant.memberships.values_list("user_id", flat=True))
    _forget([key_entry(h) for h in hashes] + [member_entry(tenant.slug, uid) for uid in members])


def forget_user(user) -> None:
    """Drop a user's cached JWT identities in every tenant, and the keys bound to the user."""
    slugs = list(user.memberships.values_list("tenant__slug", flat=True))
    hashes = list(user.api_keys.values_list("key_hash", flat=True))
    _forget([member_entry(slug, user.pk) for slug in slugs] + [key_entry(h) for h in hashes])
