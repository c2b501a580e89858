"""OpenAI's Files API (`/v1/files`), so `client.files.create/list/retrieve/delete/content` of the
official SDK work unchanged. Uploads are multipart (`file`, `purpose`, optional
`expires_after[anchor]` and `expires_after[seconds]`), at most FILES_MAX_BYTES; their bytes go to
Django's storage. Every id is looked up within the caller's tenant."""

from __future__ import annotations

import asyncio
import re
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError

from apps.core.db import in_db
from apps.core.error_codes import ErrorCode
from apps.core.errors import InvalidRequest, PayloadTooLarge
from apps.metering import metered
from apps.retrieval import extract, services
from apps.retrieval.models import FilePurpose, StoredFile
from apps.tenancy.principal import Principal

from ..edge import rest

PURPOSES = tuple(FilePurpose.values)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def epoch(moment) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def render_file(row: StoredFile) -> dict:
    return {
        "id": row.public_id, "object": "file", "bytes": row.bytes, "created_at": epoch(row.created_at),
        "filename": row.filename, "purpose": row.purpose, "status": row.status, "expires_at": epoch(row.expires_at),
        "status_details": None,
    }  # fmt: skip


def query_text(http: HttpRequest, name: str) -> str | None:
    """A query parameter, refused when it holds a NUL (no database stores one)."""
    value = http.GET.get(name)
    if value is not None and "\x00" in value:
        raise InvalidRequest(f"'{name}' cannot hold a NUL character.", param=name)
    return value


def cursor(param: str, value: str | None, lookup) -> int | None:
    """A list's `after` or `before`: an object's id, as its row's key (None when absent)."""
    if not value:
        return None
    key = lookup(value) if services.valid_id(value) else None
    if key is None:
        raise InvalidRequest(f"'{param}' names no object of this list.", param=param)
    return key


def list_params(http: HttpRequest) -> tuple[int, str]:
    limit, order = http.GET.get("limit", "20"), http.GET.get("order", "desc")
    if not limit.isdigit() or not 1 <= int(limit) <= services.LIST_LIMIT:
        raise InvalidRequest(f"'limit' must be an integer from 1 to {services.LIST_LIMIT}.", param="limit")
    if order not in ("asc", "desc"):
        raise InvalidRequest("'order' must be 'asc' or 'desc'.", param="order")
    return int(limit), order


def listing(rows: list[dict], more: bool) -> dict:
    return {
        "object": "list", "data": rows, "first_id": rows[0]["id"] if rows else None,
        "last_id": rows[-1]["id"] if rows else None, "has_more": more,
    }  # fmt: skip


def _filename(upload) -> str:
    name = PurePosixPath(str(upload.name or "").replace("\\", "/")).name
    name = _UNSAFE.sub("", name).strip()
    if not name:
        raise InvalidRequest("The file needs a name.", param="file")
    return name[-255:]


def _expiry(form) -> int | None:
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at" or not (seconds or "").isdigit() or not 3600 <= int(seconds) <= 30 * 86400:
        raise InvalidRequest(
            "'expires_after' takes anchor 'created_at' and seconds from 3600 to 2592000.", param="expires_after"
        )
    return int(seconds)


def _parsed(http: HttpRequest):
    try:
        return http.POST, http.FILES
    except (MultiPartParserError, TooManyFieldsSent) as error:
        raise InvalidRequest(f"The upload is not valid multipart form data ({error}).") from None
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The upload is larger than {settings.FILES_MAX_BYTES} bytes.") from None


async def _upload(http: HttpRequest, principal: Principal) -> JsonResponse:
    if not http.content_type.startswith("multipart/form-data"):
        raise InvalidRequest("Upload a file as multipart/form-data with the fields 'file' and 'purpose'.")
    form, uploads = await asyncio.to_thread(_parsed, http)
    purpose = form.get("purpose")
    if purpose not in PURPOSES:
        raise InvalidRequest(f"'purpose' must be one of {', '.join(PURPOSES)}.", param="purpose")
    upload = uploads.get("file")
    if upload is None:
        raise InvalidRequest("The form has no 'file'.", param="file")
    filename = _filename(upload)
    if purpose == FilePurpose.BATCH and not filename.lower().endswith(".jsonl"):
        raise InvalidRequest("A batch file is JSON Lines (.jsonl).", param="file", code=ErrorCode.UNSUPPORTED_FILE)
    if purpose != FilePurpose.BATCH and extract.kind_of(filename) is None:
        raise InvalidRequest(
            f"Files of this type cannot be searched; give one of {', '.join(sorted(extract.SUFFIXES))}.",
            param="file", code=ErrorCode.UNSUPPORTED_FILE,
        )  # fmt: skip
    data = await asyncio.to_thread(upload.read)
    if not data:
        raise InvalidRequest("The file is empty.", param="file")
    row = await in_db(services.create_file)(
        principal, principal.tier, filename, purpose, data, extract.content_type(filename), _expiry(form)
    )
    return JsonResponse(render_file(row))


@rest("files", methods=("GET", "POST"))
async def file_list(http: HttpRequest, principal: Principal) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "files")
    if http.method == "POST":
        response = await _upload(http, principal)
    else:
        limit, order = list_params(http)
        purpose = query_text(http, "purpose")

        def rows() -> tuple[list[dict], bool]:
            found = StoredFile.objects.filter(tenant_id=principal.tenant_id)
            if purpose:
                found = found.filter(purpose=purpose)
            key = lambda public_id: found.filter(public_id=public_id).values_list("pk", flat=True).first()  # noqa: E731
            after, before = cursor("after", http.GET.get("after"), key), cursor("before", http.GET.get("before"), key)
            page, more = services.page(found, limit, order, after, before)
            return [render_file(row) for row in page], more

        response = JsonResponse(listing(*await in_db(rows)()))
    await metered.record(call)
    return response


@rest("files", methods=("GET", "DELETE"))
async def file_detail(http: HttpRequest, principal: Principal, file_id: str) -> JsonResponse:
    call = await metered.admit(principal, http.request_id, "files")
    if http.method == "DELETE":
        await in_db(services.delete_file)(principal.tenant_id, file_id)
        response = JsonResponse({"id": file_id, "object": "file", "deleted": True})
    else:
        response = JsonResponse(render_file(await in_db(services.file_of)(principal.tenant_id, file_id)))
    await metered.record(call)
    return response


@rest("files", methods=("GET",))
async def file_content(http: HttpRequest, principal: Principal, file_id: str) -> HttpResponse:
    call = await metered.admit(principal, http.request_id, "files")
    row, data = await in_db(services.file_content)(principal.tenant_id, file_id)
    response = HttpResponse(data, content_type=row.content_type)
    response["Content-Disposition"] = f'attachment; filename="{row.filename.replace(chr(34), "")}"'
    await metered.record(call)
    return response
