"""Request id on every request and response (accepts a sane client-supplied X-Request-Id)."""

from __future__ import annotations

import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def new_request_id(supplied: str | None) -> str:
    if supplied and _CLIENT_ID.fullmatch(supplied):
        return supplied
    return f"req_{uuid.uuid4().hex}"


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._is_async:
            return self.__acall__(request)
        request.request_id = new_request_id(request.headers.get("X-Request-Id"))
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = new_request_id(request.headers.get("X-Request-Id"))
        response = await self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response


class ApiSecurityHeadersMiddleware:
    """The response headers SecurityMiddleware would add that matter for a JSON API."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        response = await self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response
