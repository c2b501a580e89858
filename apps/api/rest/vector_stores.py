"""OpenAI's Vector Stores API (`/v1/vector_stores`), so `client.vector_stores.*` of the official SDK
works unchanged: stores, their files (each ingested in the background; clients poll its status)
and hybrid search. Every id is looked up within the caller's tenant."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, JsonResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from apps.core.db import in_db
from apps.core.errors import InvalidRequest
from apps.metering import metered
from apps.retrieval import chunking, search, services
from apps.retrieval.models import VectorStore, VectorStoreFile
from apps.retrieval.tasks import schedule
from apps.tenancy.principal import Principal

from ..edge import rest
from ..formats.validation import Integer, json_body, validated
from .files import cursor, epoch, list_params, listing

POLL_AFTER_MS = "250"  # what the SDK's poll helpers wait between polls while a file is in progress
Scalar = StrictStr | StrictBool | StrictInt | StrictFloat  # an attribute's value: never coerced


def _pairs(value: dict, what: str, *, scalars: bool) -> dict:
    if len(value) > 16:
        raise ValueError(f"{what} holds at most 16 pairs")
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(f"{what} keys are at most 64 characters")
        if isinstance(item, str) and len(item) > 512:
            raise ValueError(f"{what} values are at most 512 characters")
        if not scalars and not isinstance(item, str):
            raise ValueError(f"{what} values are strings")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StaticChunking(Strict):
    max_chunk_size_tokens: Annotated[int, Field(ge=chunking.MIN_MAX_TOKENS, le=chunking.MAX_MAX_TOKENS)]
    chunk_overlap_tokens: Annotated[int, Field(ge=0)]


class ChunkingStrategy(Strict):
    type: Literal["auto", "static"]
    static: StaticChunking | None = None

    def sizes(self) -> tuple[int, int]:
        if self.type == "auto":
            return chunking.DEFAULT_MAX_TOKENS, chunking.DEFAULT_OVERLAP
        if self.static is None:
            raise InvalidRequest("A static chunking strategy needs 'static'.", param="chunking_strategy")
        if self.static.chunk_overlap_tokens > self.static.max_chunk_size_tokens // 2:
            raise InvalidRequest(
                "'chunk_overlap_tokens' is at most half of 'max_chunk_size_tokens'.", param="chunking_strategy"
            )
        return self.static.max_chunk_size_tokens, self.static.chunk_overlap_tokens


def sizes_of(strategy: ChunkingStrategy | None) -> tuple[int, int]:
    return strategy.sizes() if strategy else (chunking.DEFAULT_MAX_TOKENS, chunking.DEFAULT_OVERLAP)


class ExpiresAfter(Strict):
    anchor: Literal["last_active_at"]
    days: Annotated[int, Field(ge=1, le=365)]


Metadata = Annotated[dict[str, str], AfterValidator(lambda value: _pairs(value, "metadata", scalars=False))]
Attributes = Annotated[dict[str, Scalar], AfterValidator(lambda value: _pairs(value, "attributes", scalars=True))]


class CreateStore(Strict):
    name: Annotated[str, Field(max_length=256)] = ""
    description: Annotated[str, Field(max_length=512)] | None = None
    file_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=500)] = []
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateStore(Strict):
    name: Annotated[str, Field(max_length=256)] | None = None
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None


class AttachFile(Strict):
    file_id: Annotated[str, Field(max_length=64)]
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateAttributes(Strict):
    attributes: Attributes | None


class Comparison(Strict):
    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: Annotated[str, Field(max_length=64)]
    value: Scalar | list[StrictStr | StrictInt | StrictFloat]


class Compound(Strict):
    type: Literal["and", "or"]
    filters: Annotated[list[Comparison | Compound], Field(min_length=1, max_length=32)]


class RankingOptions(Strict):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: Annotated[float, Field(ge=0, le=1)] = 0.0


class Search(Strict):
    query: (
        Annotated[str, Field(min_length=1, max_length=4096)]
        | Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]], Field(min_length=1, max_length=8)]
    )
    max_num_results: Annotated[Integer, Field(ge=1, le=50)] = 10
    filters: Comparison | Compound | None = None
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False


def render_store(store: VectorStore, state: dict) -> dict:
    days = store.expires_after_days
    return {
        "id": store.public_id, "object": "vector_store", "created_at": epoch(store.created_at), "name": store.name,
        "usage_bytes": state["usage_bytes"], "file_counts": state["file_counts"], "status": state["status"],
        "expires_after": {"anchor": "last_active_at", "days": days} if days else None,
        "expires_at": epoch(store.expires_at), "last_active_at": epoch(store.last_active_at),
        "metadata": store.metadata,
    }  # fmt: skip


def render_attachment(row: VectorStoreFile, store: VectorStore) -> dict:
    return {
        "id": row.file.public_id, "object": "vector_store.file", "created_at": epoch(row.created_at),
        "vector_store_id": store.public_id, "status": row.status,
        "last_error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
        "usage_bytes": row.usage_bytes, "attributes": row.attributes,
        "chunking_strategy": {"type": "static", "static": {
            "max_chunk_size_tokens": row.max_chunk_tokens, "chunk_overlap_tokens": row.overlap_tokens}},
    }  # fmt: skip


def render_hit(hit: search.Hit, attachment: VectorStoreFile) -> dict:
    return {
        "file_id": attachment.file.public_id, "filename": attachment.file.filename, "score": hit.score,
        "attributes": attachment.attributes, "content": [{"type": "text", "text": hit.text}],
    }  # fmt: skip


def _store_json(tenant_id: int, public_id: str) -> dict:
    store = services.store_of(tenant_id, public_id)
    return render_store(store, services.store_state(store))


@rest("vector_stores", methods=("GET", "POST"))
async def store_list(http: HttpRequest, principal: Principal) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "vector_stores")
    if http.method == "POST":
        body = validated(CreateStore, json_body(http))
        days = body.expires_after.days if body.expires_after else None
        store, attached = await in_db(services.create_store)(
            principal, body.name, body.metadata or {}, days, body.file_ids, sizes_of(body.chunking_strategy)
        )
        schedule(attached, principal)
        response = JsonResponse(await in_db(_store_json)(principal.tenant_id, store.public_id))
    else:
        limit, order = list_params(http)

        def rows() -> tuple[list[dict], bool]:
            found = VectorStore.objects.filter(tenant_id=principal.tenant_id)
            key = lambda public_id: found.filter(public_id=public_id).values_list("pk", flat=True).first()  # noqa: E731
            after, before = cursor("after", http.GET.get("after"), key), cursor("before", http.GET.get("before"), key)
            page, more = services.page(found, limit, order, after, before)
            return [render_store(store, services.store_state(store)) for store in page], more

        response = JsonResponse(listing(*await in_db(rows)()))
    await metered.record(call)
    return response


@rest("vector_stores", methods=("GET", "POST", "DELETE"))
async def store_detail(http: HttpRequest, principal: Principal, store_id: str) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "vector_stores")
    if http.method == "DELETE":
        await in_db(services.delete_store)(principal.tenant_id, store_id)
        response = JsonResponse({"id": store_id, "object": "vector_store.deleted", "deleted": True})
    else:
        if http.method == "POST":
            body = validated(UpdateStore, json_body(http))
            fields: dict[str, Any] = {}
            if body.name is not None:
                fields["name"] = body.name
            if body.metadata is not None:
                fields["metadata"] = body.metadata
            if "expires_after" in body.model_fields_set:
                fields["expires_after_days"] = body.expires_after.days if body.expires_after else None
            await in_db(services.update_store)(principal.tenant_id, store_id, fields)
        response = JsonResponse(await in_db(_store_json)(principal.tenant_id, store_id))
    await metered.record(call)
    return response


@rest("vector_stores", methods=("GET", "POST"))
async def store_files(http: HttpRequest, principal: Principal, store_id: str) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "vector_stores")
    tenant_id = principal.tenant_id
    if http.method == "POST":
        body = validated(AttachFile, json_body(http))

        def attached() -> tuple[dict, int, bool]:
            store = services.store_of(tenant_id, store_id)
            row = services.attach(
                tenant_id, store, body.file_id, body.attributes or {}, sizes_of(body.chunking_strategy)
            )
            return render_attachment(row, store), row.pk, row.status == "in_progress"

        payload, attachment_id, pending = await in_db(attached)()
        if pending:
            schedule([attachment_id], principal)
        response = JsonResponse(payload)
    else:
        limit, order = list_params(http)
        status = http.GET.get("filter")
        if status not in (None, "in_progress", "completed", "failed", "cancelled"):
            raise InvalidRequest("'filter' is one of in_progress, completed, failed, cancelled.", param="filter")

        def rows() -> tuple[list[dict], bool]:
            store = services.store_of(tenant_id, store_id)
            found = services.attachments(tenant_id, store, status)
            key = lambda file_id: found.filter(file__public_id=file_id).values_list("pk", flat=True).first()  # noqa: E731
            after, before = cursor("after", http.GET.get("after"), key), cursor("before", http.GET.get("before"), key)
            page, more = services.page(found, limit, order, after, before)
            return [render_attachment(row, store) for row in page], more

        response = JsonResponse(listing(*await in_db(rows)()))
    await metered.record(call)
    return response


@rest("vector_stores", methods=("GET", "POST", "DELETE"))
async def store_file(http: HttpRequest, principal: Principal, store_id: str, file_id: str) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "vector_stores")
    tenant_id = principal.tenant_id
    if http.method == "DELETE":

        def detached() -> None:
            services.detach(tenant_id, services.store_of(tenant_id, store_id), file_id)

        await in_db(detached)()
        response = JsonResponse({"id": file_id, "object": "vector_store.file.deleted", "deleted": True})
    else:
        attributes = validated(UpdateAttributes, json_body(http)).attributes if http.method == "POST" else None

        def current() -> dict:
            store = services.store_of(tenant_id, store_id)
            row = services.attachment_of(tenant_id, store, file_id)
            if http.method == "POST":
                row.attributes = attributes or {}
                row.save(update_fields=["attributes"])
            return render_attachment(row, store)

        payload = await in_db(current)()
        response = JsonResponse(payload)
        if payload["status"] == "in_progress":
            response["openai-poll-after-ms"] = POLL_AFTER_MS
    await metered.record(call)
    return response


@rest("vector_stores", methods=("POST",))
async def store_search(http: HttpRequest, principal: Principal, store_id: str) -> JsonResponse:
    body = validated(Search, json_body(http))
    call = await metered.admit(principal, http.request_id, "vector_stores")
    queries = [body.query] if isinstance(body.query, str) else body.query
    hits, attachments = await services.find(principal, http.request_id, [store_id], queries, body.max_num_results,
                                   body.filters.model_dump() if body.filters else None)  # fmt: skip
    threshold = body.ranking_options.score_threshold if body.ranking_options else 0.0
    data = [render_hit(hit, attachments[hit.attachment_id]) for hit in hits if hit.score >= threshold]
    await metered.record(call)
    return JsonResponse({
        "object": "vector_store.search_results.page", "search_query": queries, "data": data,
        "has_more": False, "next_page": None,
    })  # fmt: skip


Compound.model_rebuild()
