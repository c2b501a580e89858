"""OpenTelemetry spans for every pipeline stage.

Each request gets a root span, begun by its transport (REST view or chat message) and ended
with the request's log line, which carries its trace id beside the request id. Stages
(authentication, limits, cache, routing, each provider attempt, settlement) are its children,
with the tenant, model, tokens and cache status as attributes; never a key, token or prompt.

`OTEL_TRACES_EXPORTER` chooses the exporter: `otlp` (to OTEL_EXPORTER_OTLP_ENDPOINT, batched),
`console` (one JSON line per span on stdout, batched every 0.2 s) or `none` (the default: OpenTelemetry's no-op
tracer, which costs almost nothing). Either exporter runs in a helper process (span_export.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span

tracer = trace.get_tracer("catalyst")
_request_span: ContextVar[Span] = ContextVar("catalyst_request_span", default=INVALID_SPAN)


def configure() -> None:
    exporter_name = settings.OTEL_TRACES_EXPORTER
    if exporter_name not in ("otlp", "console", "none"):
        raise ImproperlyConfigured(f"OTEL_TRACES_EXPORTER must be otlp, console or none, not {exporter_name!r}.")
    if exporter_name == "none":
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from .span_export import ExportInHelperProcess

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    provider.add_span_processor(ExportInHelperProcess(exporter_name, settings.OTEL_SERVICE_NAME))
    trace.set_tracer_provider(provider)
    global tracer
    tracer = trace.get_tracer("catalyst")


def shutdown() -> None:
    """Hand the last spans to the exporter and wait for it (the server's lifespan shutdown)."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()


def begin(name: str, request_id: str) -> Span:
    """The request's root span; stages started later in this task (or tasks it spawns) hang from it."""
    span = tracer.start_span(name, attributes={"catalyst.request_id": request_id})
    _request_span.set(span)
    return span


def current() -> Span:
    return _request_span.get()


@contextlib.contextmanager
def stage(name: str, **attributes) -> Iterator[Span]:
    span = tracer.start_span(name, context=trace.set_span_in_context(current()), attributes=attributes or None)
    try:
        yield span
    finally:
        span.end()


def finish(span: Span | None = None, **attributes) -> None:
    """End the request's root span (once; later calls change nothing)."""
    span = span or current()
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        span.end()


def attempt(model: str, provider: str, outcome: str, started_ns: int, ended_ns: int) -> None:
    """One provider attempt, recorded after the fact (the retry loop stays as it is)."""
    span = tracer.start_span(
        "provider.attempt", context=trace.set_span_in_context(current()), start_time=started_ns,
        attributes={"catalyst.model": model, "catalyst.provider": provider, "catalyst.outcome": outcome},
    )  # fmt: skip
    span.end(end_time=ended_ns)


def trace_id() -> str | None:
    context = current().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
