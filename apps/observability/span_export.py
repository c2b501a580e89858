"""Spans are exported by a helper process, not by the web process.

Encoding spans as OTLP protobuf and posting them costs about 40 µs of CPU per span, more than
making the span. On the SDK's own BatchSpanProcessor that work runs on a thread of the web
process and competes with requests for its GIL. Here the web process only copies each finished
span into a tuple of plain values. A thread sends those to an exporter process over a pipe, in
pickled batches. That process rebuilds the spans and hands each batch to the SDK's exporter,
OTLP or console (ADR 0012).

Nothing here can block a request. `on_end` appends to a bounded buffer; when the buffer is full
it drops spans, as the SDK's own queue does, and logs a warning. A slow pipe or collector holds
up only the sending thread and the exporter process, which never drops what it has received. If
the exporter process dies, spans are dropped (logged once) rather than blocking anything.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import struct
import subprocess
import sys
import threading
from typing import BinaryIO

from django.conf import settings
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

logger = logging.getLogger("catalyst.tracing")

MAX_BUFFERED = 8192  # spans waiting for the pipe; beyond this, new ones are dropped
BATCH = 512
SEND_EVERY_SECONDS = 0.2
_LENGTH = struct.Struct("!I")  # each batch on the pipe: its length, then the pickled records

# name, trace id, span id, parent span id (0 for a root), start ns, end ns, attributes, status code,
# status description, kind
Record = tuple[str, int, int, int, int, int, dict, int, str | None, int]


def compact(span: ReadableSpan) -> Record:
    context, parent = span.context, span.parent
    return (
        span.name, context.trace_id, context.span_id, parent.span_id if parent else 0, span.start_time,
        span.end_time, dict(span.attributes or {}), span.status.status_code.value, span.status.description,
        span.kind.value,
    )  # fmt: skip


class ExportInHelperProcess(SpanProcessor):
    def __init__(self, exporter: str, service_name: str) -> None:
        self.exporter, self.service_name = exporter, service_name
        self._buffer: list[Record] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._sender: threading.Thread | None = None
        self._pipe: BinaryIO | None = None
        self._process: subprocess.Popen | None = None
        self.dropped = 0

    def on_start(self, span, parent_context=None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if self._stopping or not span.context.trace_flags.sampled:
            return
        record = compact(span)
        with self._lock:
            if len(self._buffer) >= MAX_BUFFERED:
                if not self.dropped:
                    logger.warning("spans are being dropped: the span exporter falls behind")
                self.dropped += 1
                return
            self._buffer.append(record)
            full = len(self._buffer) >= BATCH
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_forever, name="span-export", daemon=True)
                self._sender.start()
        if full:
            self._wake.set()

    def _send_forever(self) -> None:
        """The one writer to the pipe: every SEND_EVERY_SECONDS, or when a batch is full, and a
        last time once shutdown has begun."""
        # A session of its own: a signal to the server's process group (a supervisor stopping it)
        # must not kill the exporter before the server has handed it the last spans.
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "apps.observability.span_export", self.exporter, self.service_name],
            stdin=subprocess.PIPE, start_new_session=True, cwd=settings.BASE_DIR,
        )  # fmt: skip
        self._pipe = self._process.stdin
        while True:
            self._wake.wait(SEND_EVERY_SECONDS)
            self._wake.clear()
            stopping = self._stopping
            self._send()
            if stopping:
                return

    def _send(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch or self._pipe is None:
            return
        payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        try:  # a buffered pipe: the whole frame is written, or the write fails
            self._pipe.write(_LENGTH.pack(len(payload)) + payload)
            self._pipe.flush()
        except (OSError, ValueError):  # the exporter is gone, or shutdown closed the pipe
            if self._pipe is not None and not self._stopping:
                exit_code = self._process.poll() if self._process else None
                logger.error("the span exporter process is gone; spans are dropped from now on",
                             extra={"exit_code": exit_code})  # fmt: skip
            self._pipe = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._wake.set()  # the sender thread sends now (it is the pipe's only writer)
        return True

    def shutdown(self) -> None:
        """Hand the last spans over, then let the exporter export them and exit: 10 s at most."""
        self._stopping = True
        self._wake.set()
        if self._sender is None:
            return
        self._sender.join(5)
        process = self._process
        if process is None:
            return
        if self._sender.is_alive():  # blocked on a full pipe: the exporter is stuck (a dead collector)
            logger.error("the span exporter did not take the last spans in time; stopping it")
            process.kill()
            self._sender.join(1)
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()  # the exporter sees end of file, exports what it has and exits
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def serve(pipe: BinaryIO, exporter_name: str, service_name: str) -> None:
    """The exporter process: rebuild each batch's spans and export them with the SDK's exporter,
    until the server closes the pipe (it has shut down, or died). A batch is exported before the
    next is read, so a slow collector slows this process and then the pipe, never the server."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporter = ConsoleSpanExporter(out=sys.stdout, formatter=one_line)
    resource = Resource.create({"service.name": service_name})
    scope = InstrumentationScope("catalyst")
    sampled = TraceFlags(TraceFlags.SAMPLED)

    def context(trace_id: int, span_id: int) -> SpanContext:
        return SpanContext(trace_id, span_id, is_remote=False, trace_flags=sampled)

    while header := pipe.read(_LENGTH.size):
        payload = pipe.read(_LENGTH.unpack(header)[0])
        batch = pickle.loads(payload)  # noqa: S301 (records from the server that started us, on our stdin)
        spans = [
            ReadableSpan(
                name=name, context=context(trace_id, span_id),
                parent=context(trace_id, parent_id) if parent_id else None,
                resource=resource, attributes=attributes, kind=SpanKind(kind),
                status=Status(StatusCode(code), description), start_time=start, end_time=end,
                instrumentation_scope=scope,
            )
            for name, trace_id, span_id, parent_id, start, end, attributes, code, description, kind in batch
        ]  # fmt: skip
        exporter.export(spans)
    exporter.shutdown()


def one_line(span: ReadableSpan) -> str:
    """One JSON line per span, `{"span": ...}`, so log collectors can tell spans from log lines."""
    return '{"span":' + span.to_json(indent=None) + "}\n"


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; the pipe then stops this
    serve(sys.stdin.buffer, sys.argv[1], sys.argv[2])
