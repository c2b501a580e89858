"""Provider failures, classified so the resilience layer knows whether to retry or fall back."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum

import anthropic
import httpx
import httpx2
import openai


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    DROPPED = "dropped"  # the stream ended without finishing
    AUTH = "auth"  # our provider key was refused: try the next provider, never retry
    MISCONFIGURED = "misconfigured"
    BAD_REQUEST = "bad_request"  # the request itself is wrong: no retry, no fallback
    UNSENDABLE = "unsendable"  # it failed before anything went out (it cannot be encoded): the request's fault


RETRYABLE = frozenset({FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.RATE_LIMITED, FailureKind.SERVER_ERROR})
FALL_BACK = RETRYABLE | {FailureKind.DROPPED, FailureKind.AUTH, FailureKind.MISCONFIGURED}
# What a circuit breaker counts: failures of the provider, never of one request or of our set-up.
# A breaker is shared by every tenant, so anything a caller can provoke must stay out of it.
PROVIDER_FAULTS = RETRYABLE | {FailureKind.DROPPED, FailureKind.AUTH}

# Set by the transport just before bytes go out: an exception raised while it is unset happened
# while the SDK was still building the request, so the provider never saw it.
_sent: ContextVar[bool] = ContextVar("catalyst_request_sent", default=False)


def sending() -> None:
    """Call before an SDK request: nothing has been sent yet."""
    _sent.set(False)


def mark_sent() -> None:
    _sent.set(True)


@contextlib.contextmanager
def reading_answer() -> Iterator[None]:
    """Around parsing a provider's answer: a shape we cannot read is the provider's failure."""
    try:
        yield
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        raise ProviderError(
            f"The provider's answer could not be read ({type(error).__name__}).", kind=FailureKind.SERVER_ERROR
        ) from None


class ProviderError(Exception):
    def __init__(
        self, message: str, *, kind: FailureKind, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def falls_back(self) -> bool:
        return self.kind in FALL_BACK

    @property
    def counts_against_provider(self) -> bool:
        return self.kind in PROVIDER_FAULTS


def retry_after_seconds(headers: httpx.Headers | httpx2.Headers | None) -> float | None:
    """Seconds from `retry-after-ms`, `retry-after` (seconds or an HTTP date), else None."""
    if not headers:
        return None
    if (value := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


_TIMEOUTS = (openai.APITimeoutError, anthropic.APITimeoutError, TimeoutError, httpx.TimeoutException)
_TIMEOUTS += (httpx2.TimeoutException,)
_CONNECTION = (openai.APIConnectionError, anthropic.APIConnectionError, httpx.TransportError, httpx2.TransportError)
_SDK_STATUS = (openai.APIStatusError, anthropic.APIStatusError)


def from_sdk_error(error: Exception) -> ProviderError:
    """Classify an SDK or transport exception. Messages never include keys or URLs with secrets."""
    if isinstance(error, ProviderError):
        return error
    if not _sent.get() and not isinstance(error, _TIMEOUTS):
        return ProviderError(
            f"The request could not be encoded for the provider ({type(error).__name__}).", kind=FailureKind.UNSENDABLE
        )
    if isinstance(error, _TIMEOUTS):
        return ProviderError("The provider timed out.", kind=FailureKind.TIMEOUT)
    if isinstance(error, _CONNECTION):
        return ProviderError("Could not reach the provider.", kind=FailureKind.CONNECTION)
    if isinstance(error, _SDK_STATUS):
        status = error.status_code
        headers = error.response.headers if error.response is not None else None
        if status == 429:
            return ProviderError(
                "The provider is rate limiting.", kind=FailureKind.RATE_LIMITED, status=429,
                retry_after=retry_after_seconds(headers),
            )  # fmt: skip
        if status >= 500:
            return ProviderError(
                f"The provider failed ({status}).", kind=FailureKind.SERVER_ERROR, status=status,
                retry_after=retry_after_seconds(headers),
            )  # fmt: skip
        if status in (401, 403):
            return ProviderError(
                f"The provider refused our credentials ({status}).", kind=FailureKind.AUTH, status=status
            )
        if status == 408:
            return ProviderError("The provider timed out.", kind=FailureKind.TIMEOUT, status=status)
        return ProviderError(_upstream_message(error), kind=FailureKind.BAD_REQUEST, status=status)
    return ProviderError(f"Unexpected provider failure: {type(error).__name__}.", kind=FailureKind.SERVER_ERROR)


def _upstream_message(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return f"The provider rejected the request: {inner['message'][:500]}"
    return "The provider rejected the request."
