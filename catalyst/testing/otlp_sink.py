"""A stand-in OpenTelemetry collector for tests and benchmarks: accepts OTLP/HTTP trace exports.

    .venv/bin/python -m catalyst.testing.otlp_sink --port 4318

`POST /v1/traces` decodes the protobuf body (an export that is not valid OTLP gets a 400, as from
a real collector). `GET /count` returns the number of spans received per span name, and
`GET /spans` returns every span received. It runs as its own process, like a collector beside
the gateway.
"""

from __future__ import annotations

import argparse
import collections
import json

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

spans: list[dict] = []


async def traces(request: web.Request) -> web.Response:
    export = ExportTraceServiceRequest()
    try:
        export.ParseFromString(await request.read())
    except Exception:
        return web.Response(status=400, text="not an OTLP trace export")
    for resource in export.resource_spans:
        service = next((a.value.string_value for a in resource.resource.attributes if a.key == "service.name"), None)
        for scope in resource.scope_spans:
            for span in scope.spans:
                spans.append(
                    {
                        "name": span.name, "service": service, "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(), "parent_span_id": span.parent_span_id.hex(),
                        "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                    }
                )  # fmt: skip
    return web.Response(body=b"", content_type="application/x-protobuf")


def _value(value) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


async def count(request: web.Request) -> web.Response:
    counts = collections.Counter(span["name"] for span in spans)
    return web.Response(text=json.dumps(counts), content_type="application/json")


async def all_spans(request: web.Request) -> web.Response:
    return web.Response(text=json.dumps(spans), content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/v1/traces", traces),
            web.get("/count", count),
            web.get("/spans", all_spans),
            web.get("/health", health),
        ]
    )
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
