"""Storing, finding, continuing and deleting responses. Every read takes the tenant."""

from __future__ import annotations

from django.db import IntegrityError

from apps.core.db import refresh_connections
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest, NotFound

from .models import StoredResponse

MAX_CHAIN = 200  # responses a previous_response_id chain may hold


def _not_found(response_id: str, param: str | None = None) -> NotFound:
    return NotFound(f"No response with id '{response_id}' was found.", code=ErrorCode.NOT_FOUND, param=param)


def find(tenant_id: int, response_id: str) -> StoredResponse:
    refresh_connections()
    stored = StoredResponse.objects.filter(pk=response_id, tenant_id=tenant_id).first()
    if stored is None:
        raise _not_found(response_id)
    return stored


def history(tenant_id: int, response_id: str) -> list[dict]:
    """The chat messages of every turn up to and including `response_id`, oldest first."""
    refresh_connections()
    turns: list[list[dict]] = []
    current: str | None = response_id
    while current is not None:
        if len(turns) == MAX_CHAIN:
            raise InvalidRequest(f"A chain of responses holds at most {MAX_CHAIN}.", param="previous_response_id")
        row = StoredResponse.objects.filter(pk=current, tenant_id=tenant_id).values("turn", "previous_id").first()
        if row is None:
            raise _not_found(current, "previous_response_id")
        turns.append(row["turn"])
        current = row["previous_id"]
    return [message for turn in reversed(turns) for message in turn]


def store(
    *, response_id: str, tenant_id: int, user_id: int | None, key_id: int | None, request_id: str,
    previous_id: str | None, model: str, status: str, body: dict, turn: list[dict],
) -> None:  # fmt: skip
    refresh_connections()
    try:
        StoredResponse.objects.create(
            id=response_id, tenant_id=tenant_id, user_id=user_id, key_id=key_id, request_id=request_id,
            previous_id=previous_id, model=model, status=status, body=body, turn=turn,
        )  # fmt: skip
    except IntegrityError:  # the previous response was deleted meanwhile: keep this one, unchained
        StoredResponse.objects.create(
            id=response_id, tenant_id=tenant_id, user_id=user_id, key_id=key_id, request_id=request_id,
            previous_id=None, model=model, status=status, body=body, turn=turn,
        )  # fmt: skip


def delete(tenant_id: int, response_id: str) -> None:
    refresh_connections()
    deleted, _ = StoredResponse.objects.filter(pk=response_id, tenant_id=tenant_id).delete()
    if not deleted:
        raise _not_found(response_id)
