"""Cache entries in the hot store (Redis, or memory on the embedded default): the answer's events
as the provider sent them, so a hit replays a stream as a stream, in any endpoint's wire format.

An entry's key is the tenant, the use case, the model asked for and every parameter that changes
the answer; nothing else can reach it. It lives for its TTL plus the stale age the policy allows,
so a provider outage can still be answered from it (STALE)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from decimal import Decimal

from apps.core.redis.hotstore import hot_store
from apps.providers.types import ChatRequest, Event, Finish, TextDelta, ToolCallDelta, Usage

# What does not change the answer: who asked (user), the caller's own labels and the service tier.
_NOT_IN_KEY = ("user", "metadata", "service_tier")


def _answer_params(chat: ChatRequest) -> dict:
    return {f.name: getattr(chat, f.name) for f in dataclasses.fields(chat) if f.name not in _NOT_IN_KEY}


def _digest(tenant_id: int, use_case: str, model: str, params: dict) -> str:
    canonical = json.dumps(
        [tenant_id, use_case, model, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def key(tenant_id: int, use_case: str, model: str, chat: ChatRequest) -> str:
    return f"cache:{tenant_id}:{_digest(tenant_id, use_case, model, _answer_params(chat))}"


def question_and_scope(tenant_id: int, use_case: str, model: str, chat: ChatRequest) -> tuple[str, str] | None:
    """The semantic cache's view of a request: the question (the last user turn's text) and a digest
    of everything else, which a similar question's entry must share exactly. None: no question."""
    if not chat.messages or chat.messages[-1].get("role") != "user":
        return None
    content = chat.messages[-1].get("content")
    if isinstance(content, str):
        question = content
    elif isinstance(content, list) and all(part.get("type") == "text" for part in content):
        question = "".join(part.get("text", "") for part in content)
    else:
        return None  # images: only an exact match
    params = {**_answer_params(chat), "messages": chat.messages[:-1]}
    return question, _digest(tenant_id, use_case, model, params)


def in_space(scope: str, space: str) -> str:
    """The scope of a semantic lookup in one embedding space: vectors of two models never compare."""
    return hashlib.sha256(f"{scope}:{space}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    created: float
    ttl: int
    model: str
    events: tuple[Event, ...]
    cost_usd: Decimal

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.created

    @property
    def usage(self) -> Usage:
        for event in self.events:
            if isinstance(event, Usage):
                return event
        return Usage(0, 0)


def _encode(event: Event) -> list:
    if isinstance(event, TextDelta):
        return ["t", event.text]
    if isinstance(event, ToolCallDelta):
        return ["c", event.index, event.id, event.name, event.arguments]
    if isinstance(event, Usage):
        return ["u", event.input_tokens, event.output_tokens, event.cached_tokens]
    return ["f", event.reason]


def _decode(item: list) -> Event:
    kind = item[0]
    if kind == "t":
        return TextDelta(item[1])
    if kind == "c":
        return ToolCallDelta(item[1], item[2], item[3], item[4])
    if kind == "u":
        return Usage(item[1], item[2], item[3])
    return Finish(item[1])


def encode(entry: Entry) -> str:
    return json.dumps(
        {"created": entry.created, "ttl": entry.ttl, "model": entry.model, "cost": str(entry.cost_usd),
         "events": [_encode(event) for event in entry.events]},
        separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip


def decode(raw: str) -> Entry | None:
    try:
        data = json.loads(raw)
        events = tuple(_decode(item) for item in data["events"])
        return Entry(data["created"], data["ttl"], data["model"], events, Decimal(data["cost"]))
    except (ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None  # an entry this build cannot read is a miss, never an error


async def get(entry_key: str) -> Entry | None:
    raw = await hot_store().get(entry_key)
    return decode(raw) if raw is not None else None


def _scope_key(tenant_id: int, scope: str) -> str:
    return f"cache-scope:{tenant_id}:{scope}"


async def get_with_scope(entry_key: str, tenant_id: int, scope: str) -> tuple[Entry | None, int]:
    """The entry, and how many vectors the questions of its semantic scope have had stored: in one
    round trip. None (0) costs a question first in its scope (every turn of a new conversation) no
    vector query; a process whose copy of the scope has as many needs none either."""
    raw, count = await asyncio.gather(hot_store().get(entry_key), hot_store().get(_scope_key(tenant_id, scope)))
    return (decode(raw) if raw is not None else None), int(count or 0)


async def mark_scope(tenant_id: int, scope: str, keep_seconds: int) -> int:
    """Count a vector stored in the scope; the new count."""
    return await hot_store().count_up(_scope_key(tenant_id, scope), max(keep_seconds, 1))


async def put(entry_key: str, entry: Entry, keep_seconds: int) -> None:
    await hot_store().set(entry_key, encode(entry), max(keep_seconds, 1))


def hits_key(entry_key: str) -> str:
    return "cache-hits:" + entry_key.removeprefix("cache:")


async def count_hit(entry_key: str, keep_seconds: int) -> None:
    await hot_store().incr(hits_key(entry_key), max(keep_seconds, 1))


@dataclass(frozen=True, slots=True)
class Listed:
    digest: str
    entry: Entry
    hits: int
    size: int


def tenant_entries(tenant_id: int, limit: int = 500) -> list[Listed]:
    """A tenant's entries with their hit counts, newest first (the admin's page; scans the store)."""
    store = hot_store()
    raw = store.scan_sync(f"cache:{tenant_id}:", limit)
    hits = store.scan_sync(f"cache-hits:{tenant_id}:", limit * 2)
    listed = []
    for key, value in raw.items():
        entry = decode(value)
        if entry is not None:
            count = int(hits.get(hits_key(key), 0))
            listed.append(Listed(key.rsplit(":", 1)[-1], entry, count, len(value)))
    return sorted(listed, key=lambda item: -item.entry.created)
