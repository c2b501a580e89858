"""A request id on every request and response.

Ids are always generated here: usage records and audit entries are keyed by them, so a client
must not be able to choose one (a reused id would make its request look already recorded). A
sane client-supplied X-Request-Id is echoed back as X-Client-Request-Id for correlation.
"""

from __future__ import annotations

import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from .edge import new_request_id

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def _tag(request, response) -> None:
    response["X-Request-Id"] = request.request_id
    supplied = request.headers.get("X-Request-Id")
    if supplied and _CLIENT_ID.fullmatch(supplied):
        response["X-Client-Request-Id"] = supplied


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
        request.request_id = new_request_id()
        response = self.get_response(request)
        _tag(request, response)
        return response

    async def __acall__(self, request):
        request.request_id = new_request_id()
        response = await self.get_response(request)
        _tag(request, response)
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
