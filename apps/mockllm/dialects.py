"""How each provider authenticates and shapes its errors, so SDKs raise the same exceptions as in production."""

from __future__ import annotations

import hmac
import json
from typing import Literal

from aiohttp import web

Auth = Literal["ok", "missing", "invalid"]

OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _check(key: str, required: str | None) -> Auth:
    if not key:
        return "missing"
    if required is not None and not hmac.compare_digest(key.encode(), required.encode()):
        return "invalid"
    return "ok"


def _retry_headers(status: int, retry_after: float, milliseconds: bool) -> dict[str, str]:
    if status != 429:
        return {}
    seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
    headers = {"Retry-After": str(seconds)}
    if milliseconds:
        headers["retry-after-ms"] = str(round(retry_after * 1000))
    return headers


def _json(status: int, payload: dict[str, object], headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(payload).encode(), content_type="application/json", headers=headers
    )


class OpenAIDialect:
    """`Authorization: Bearer <key>`; errors as `{"error": {"message", "type", "param", "code"}}`."""

    name = "openai"

    def authenticate(self, request: web.Request, required: str | None) -> Auth:
        return _check(_bearer(request), required)

    def error(self, status: int, message: str, *, param: str | None = None, retry_after: float = 1.0) -> web.Response:
        kind, code = OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        payload = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        return _json(status, payload, _retry_headers(status, retry_after, milliseconds=True))


class AnthropicDialect:
    """`x-api-key: <key>` or a bearer token; errors as `{"type": "error", "error": {"type", "message"}}`."""

    name = "anthropic"

    def authenticate(self, request: web.Request, required: str | None) -> Auth:
        return _check(request.headers.get("x-api-key", "").strip() or _bearer(request), required)

    def error(self, status: int, message: str, *, param: str | None = None, retry_after: float = 1.0) -> web.Response:
        kind = ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        payload = {"type": "error", "error": {"type": kind, "message": message}}
        return _json(status, payload, _retry_headers(status, retry_after, milliseconds=False))


Dialect = OpenAIDialect | AnthropicDialect
OPENAI = OpenAIDialect()
ANTHROPIC = AnthropicDialect()
