"""A stand-in OpenTelemetry collector for benchmarks: accepts OTLP/HTTP trace exports and counts spans.

    .venv/bin/python bench/otlp_sink.py --port 4318

`POST /v1/traces` decodes the protobuf body (so an export that is not valid OTLP is an error, as a
real collector would answer) and adds its spans to a count per span name; `GET /count` returns
the counts as JSON. It runs as its own process, like a collector beside the gateway.
"""

from __future__ import annotations

import argparse
import collections
import json

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

counts: collections.Counter[str] = collections.Counter()


async def traces(request: web.Request) -> web.Response:
    export = ExportTraceServiceRequest()
    try:
        export.ParseFromString(await request.read())
    except Exception:
        return web.Response(status=400, text="not an OTLP trace export")
    for resource in export.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                counts[span.name] += 1
    return web.Response(body=b"", content_type="application/x-protobuf")


async def count(request: web.Request) -> web.Response:
    return web.Response(text=json.dumps(counts), content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes([web.post("/v1/traces", traces), web.get("/count", count), web.get("/health", health)])
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
