"""One application error hierarchy; the edge (apps/api/edge.py) renders it as the SPEC error
envelope, Anthropic's envelope, or a chat error frame."""

from __future__ import annotations

from .error_codes import ErrorCode


class ApiError(Exception):
    """An error a client should see: HTTP status, OpenAI-style type, stable code, message."""

    status: int = 400
    type: str = "invalid_request_error"
    default_code: ErrorCode = ErrorCode.INVALID_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        self.headers = headers or {}

    def envelope(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": str(self.code), "param": self.param}}

    def anthropic_envelope(self) -> dict:
        """Anthropic's own error shape, for /v1/messages, as the `anthropic` SDK expects."""
        kind = _ANTHROPIC_TYPES.get(self.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": self.message}}


_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}


class InvalidRequest(ApiError):
    pass


class AuthenticationFailed(ApiError):
    status = 401
    type = "authentication_error"
    default_code = ErrorCode.INVALID_API_KEY


class BudgetExhausted(ApiError):
    status = 402
    type = "insufficient_quota"
    default_code = ErrorCode.BUDGET_EXHAUSTED


class PermissionDenied(ApiError):
    status = 403
    type = "permission_error"
    default_code = ErrorCode.ENDPOINT_NOT_ALLOWED


class NotFound(ApiError):
    status = 404
    type = "not_found_error"
    default_code = ErrorCode.NOT_FOUND


class MethodNotAllowed(ApiError):
    status = 405
    default_code = ErrorCode.METHOD_NOT_ALLOWED


class PayloadTooLarge(ApiError):
    status = 413
    default_code = ErrorCode.REQUEST_TOO_LARGE


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"
    default_code = ErrorCode.RATE_LIMITED


class UpstreamFailed(ApiError):
    status = 502
    type = "api_error"
    default_code = ErrorCode.UPSTREAM_FAILED


class UpstreamUnavailable(ApiError):
    status = 503
    type = "api_error"
    default_code = ErrorCode.UPSTREAM_UNAVAILABLE


class ServiceUnavailable(ApiError):
    """A service the gateway itself needs (Redis) is down: retry shortly."""

    status = 503
    type = "api_error"
    default_code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str = "The gateway cannot reach a service it needs; retry shortly.", **kwargs) -> None:
        super().__init__(message, **{"headers": {"Retry-After": "5"}, **kwargs})


class UpstreamTimeout(ApiError):
    status = 504
    type = "timeout_error"
    default_code = ErrorCode.UPSTREAM_TIMEOUT


class InternalError(ApiError):
    status = 500
    type = "api_error"
    default_code = ErrorCode.INTERNAL_ERROR
