"""The cache as pipeline stages (apps/gateway/pipeline.py).

`lookup` (after routing, before limits) resolves the policy and the request's key and finds a fresh
entry: a hit then pays only the request-rate limits, no tokens and no hold. `replay` (after
limits, before the provider) answers a hit from its entry; otherwise it records the provider's
events on their way out and, once the request is settled, stores them (a stream is stored as
the stream it was). When every provider fails, `rescue` answers from an entry past its TTL that
the policy still allows (STALE).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Protocol

from django.db import DatabaseError

from apps.catalogue.models import ModelKind
from apps.catalogue.snapshot import ModelInfo, current_catalogue
from apps.core.errors import ApiError, UpstreamFailed, UpstreamTimeout, UpstreamUnavailable
from apps.core.outcome import CacheStatus, Outcome
from apps.core.stage import Stage
from apps.embeddings import service as embeddings
from apps.embeddings.local import local_embedder
from apps.providers.types import ChatRequest, Event, Finish, TextDelta
from apps.tenancy.principal import Principal

from . import policy, semantic, store, vectors
from .controls import Controls
from .models import CacheMode

logger = logging.getLogger("catalyst.cache")
# Provider failures a stale answer may stand in for (not the caller's own faults, nor limits).
_PROVIDER_FAILURES = (UpstreamFailed, UpstreamUnavailable, UpstreamTimeout)
EMBEDDING_PURPOSE = "cache-embeddings"  # the endpoint of the question's embedding call, in usage and audit


class Cached(Protocol):
    principal: Principal
    request_id: str
    kind: str
    requested_model: str
    chat: ChatRequest
    route: list[ModelInfo]
    model: ModelInfo | None
    events: AsyncIterator[Event] | None
    outcome: Outcome
    cost_usd: Decimal
    cache_controls: Controls
    cache_status: CacheStatus
    cache_policy: policy.Policy | None
    cache_key: str | None
    cache_entry: store.Entry | None
    stale_entry: store.Entry | None
    cache_capture: list[Event] | None
    semantic_view: tuple[str, str] | None  # (question, scope) of a semantic lookup, stored with the answer
    semantic_vector: tuple[str, object] | None  # (scope in its embedding space, vector), once embedded


def _reusable(chat: ChatRequest, rules: policy.Policy) -> bool:
    temperature = 1.0 if chat.temperature is None else chat.temperature
    return temperature <= rules.max_temperature


async def lookup(request: Cached) -> None:
    if request.kind != ModelKind.CHAT:
        return
    controls = request.cache_controls
    policies = await policy.current()
    try:
        rules = policies.resolve(request.principal, controls.use_case)
    except ApiError:
        request.outcome = Outcome.INVALID
        raise
    if not rules.on or controls.no_store or not _reusable(request.chat, rules):
        return  # BYPASS
    request.cache_policy = rules
    request.cache_key = store.key(request.principal.tenant_id, rules.use_case, request.requested_model, request.chat)
    request.cache_status = CacheStatus.MISS
    if rules.mode == CacheMode.SEMANTIC:  # what a similar question must share; stored with the answer
        request.semantic_view = store.question_and_scope(
            request.principal.tenant_id, rules.use_case, request.requested_model, request.chat
        )
    if controls.no_cache:
        return
    if request.semantic_view is None:
        entry, stored_vectors = await store.get(request.cache_key), 0
    else:  # one round trip: the entry, and whether any question of this scope has a vector
        entry, stored_vectors = await store.get_with_scope(
            request.cache_key, request.principal.tenant_id, request.semantic_view[1]
        )
    if entry is not None and _purged(policies, request, rules, entry):
        entry = None
    if entry is not None and _young(entry, entry.ttl, controls):
        request.cache_entry, request.cache_status = entry, CacheStatus.HIT
    elif entry is None and stored_vectors:
        similar = await _similar(policies, request, rules, stored_vectors)
        if similar is not None:
            request.cache_entry, request.cache_status = similar, CacheStatus.SEMANTIC
    elif entry is not None and rules.serve_stale and _young(entry, entry.ttl + rules.stale_seconds, controls):
        request.stale_entry = entry


def _purged(policies: policy.Policies, request: Cached, rules: policy.Policy, entry: store.Entry) -> bool:
    models = (request.requested_model, entry.model)
    return entry.created <= policies.purged_before(request.principal.tenant_id, rules.use_case, models)


def _young(entry: store.Entry, seconds: float, controls: Controls) -> bool:
    """At most `seconds` old, and no older than the request's max-age."""
    age = entry.age()
    return age <= seconds and (controls.max_age is None or age <= controls.max_age)


async def _embedded(request: Cached) -> tuple[str, object] | None:
    """The question's vector, with the scope of its embedding space; None when the tenant's
    embedding model failed or was refused (a miss, never an error)."""
    question, scope = request.semantic_view
    try:
        embedded = await embeddings.embed(
            request.principal, [question], purpose=EMBEDDING_PURPOSE, request_id=request.request_id
        )
    except ApiError as error:
        logger.warning("semantic cache without an embedding: %s", error.code, extra=_log(request))
        return None
    return store.in_space(scope, embedded.space), embedded.vectors[0]


def _log(request: Cached) -> dict:
    return {"tenant": request.principal.tenant_slug}


async def _similar(policies: policy.Policies, request: Cached, rules: policy.Policy, stored: int) -> store.Entry | None:
    """A fresh entry of a question close enough in the same tenant, use case, model and parameters."""
    request.semantic_vector = await _embedded(request)
    if request.semantic_vector is None:
        request.semantic_view = None  # nor is a vector stored
        return None
    question = request.semantic_view[0]
    try:
        candidates = await vectors.vectors().nearest(request.principal.tenant_id, *request.semantic_vector, stored)
    except DatabaseError:  # the vector store is a shortcut: without it the request is a miss, never a 500
        logger.warning("semantic lookup failed", exc_info=True, extra=_log(request))
        request.semantic_view = None  # nor is a vector stored
        return None
    similar = local_embedder().word_similarity
    for candidate in candidates:
        if candidate.similarity < rules.similarity_threshold:
            break
        if not semantic.same_question(question, candidate.question, similar):
            continue
        entry = await store.get(candidate.entry_key)
        if entry is None or _purged(policies, request, rules, entry):
            continue
        if _young(entry, entry.ttl, request.cache_controls):
            return entry
    return None


async def replay(request: Cached) -> None:
    if request.cache_entry is not None:
        await _serve(request, request.cache_entry)


async def _serve(request: Cached, entry: store.Entry) -> None:
    catalogue = await current_catalogue()
    request.model = catalogue.models.get(entry.model) or request.route[0]
    request.events = _replayed(entry, request.stream)


_WORDS = re.compile(r"\s*\S+\s*|\s+")


async def _replayed(entry: store.Entry, stream: bool) -> AsyncIterator[Event]:
    """The stored events; to a stream, an answer stored whole is replayed word by word."""
    for event in entry.events:
        if stream and isinstance(event, TextDelta) and " " in event.text.strip():
            for word in _WORDS.findall(event.text):
                yield TextDelta(word)
        else:
            yield event


async def rescue(request: Cached, error: ApiError) -> bool:
    """Every provider failed: answer from the stale entry the lookup kept, if the policy allows."""
    if request.stale_entry is None or not isinstance(error, _PROVIDER_FAILURES):
        return False
    request.cache_status = CacheStatus.STALE
    request.outcome = Outcome.PENDING
    await _serve(request, request.stale_entry)
    return True


async def capture(request: Cached, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    if request.cache_status != CacheStatus.MISS or request.cache_key is None:
        async for event in events:
            yield event
        return
    request.cache_capture = captured = []
    async for event in events:
        captured.append(event)
        yield event


def keep(request: Cached):
    """Store a provider's complete answer once the request is settled (its cost is known then);
    count a hit against its entry."""
    captured, rules = request.cache_capture, request.cache_policy
    if request.cache_status in (CacheStatus.HIT, CacheStatus.STALE) and rules is not None:
        return store.count_hit(request.cache_key, rules.ttl_seconds + rules.stale_seconds)
    if request.outcome != Outcome.OK or not captured or rules is None or request.model is None:
        return None
    if not isinstance(captured[-1], Finish) and not any(isinstance(e, Finish) for e in captured):
        return None
    wanted = request.cache_controls.ttl
    ttl = rules.ttl_seconds if wanted is None else min(wanted, rules.ttl_seconds)
    if ttl <= 0:
        return None
    entry = store.Entry(time.time(), ttl, request.model.name, tuple(captured), request.cost_usd)
    keep_for = ttl + (rules.stale_seconds if rules.serve_stale else 0)
    if request.semantic_view is None:
        return store.put(request.cache_key, entry, keep_for)
    return _keep_with_vector(request, entry, keep_for)


async def _keep_with_vector(request: Cached, entry: store.Entry, keep_for: int) -> None:
    """Store the entry and its question's vector. A question first in its scope was not embedded
    on the request path (nothing to compare it with): it is embedded now, after the response."""
    question, scope = request.semantic_view
    tenant_id = request.principal.tenant_id
    await store.put(request.cache_key, entry, keep_for)
    spaced = request.semantic_vector or await _embedded(request)
    if spaced is None:
        return
    try:
        row_id = await vectors.vectors().add(tenant_id, spaced[0], request.cache_key, question, spaced[1], keep_for)
    except DatabaseError:  # the exact entry is stored; only its semantic shortcut is lost
        logger.warning("semantic vector not stored", exc_info=True, extra=_log(request))
        return
    count = await store.mark_scope(tenant_id, scope, keep_for)
    vectors.vectors().counted(tenant_id, spaced[0], count, row_id, request.cache_key, question, spaced[1], keep_for)


lookup_stage = Stage("cache", enter=lookup, rescue=rescue)
replay_stage = Stage("cache-replay", enter=replay, relay=capture, leave=keep, span=False)
