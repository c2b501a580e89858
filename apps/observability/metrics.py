"""Prometheus metrics (prometheus_client). Request metrics are counted where each request's log
line is written, so every outcome (served, refused, failed, cancelled) is counted once. Gauges
that live in shared state (breakers, queue depth) are read when /metrics is scraped.

Labels carry the tenant (SPEC invariant 2), its tier, the endpoint and the model; never a key,
a user or a prompt.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from apps.core.outcome import REFUSALS

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "catalyst_requests", "Generation requests by outcome.", ["tenant", "tier", "endpoint", "model", "outcome"],
    registry=REGISTRY,
)  # fmt: skip
LATENCY = Histogram(
    "catalyst_request_latency_seconds", "Time from request to last byte.", ["endpoint"], buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
TTFT = Histogram(
    "catalyst_time_to_first_token_seconds", "Time from request to the first token.", ["endpoint"],
    buckets=LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
TOKENS = Counter("catalyst_tokens", "Tokens by direction.", ["tenant", "tier", "model", "direction"], registry=REGISTRY)
COST = Counter("catalyst_cost_usd", "Cost charged, in USD.", ["tenant", "tier", "model"], registry=REGISTRY)
CACHE = Counter("catalyst_cache_lookups", "Cache lookups by status.", ["tenant", "status"], registry=REGISTRY)
GUARDRAILS = Counter(
    "catalyst_guardrail_outcomes", "Guardrail findings by check, direction and the action taken.",
    ["tenant", "check", "direction", "action"], registry=REGISTRY,
)  # fmt: skip
TOOL_CALLS = Counter(
    "catalyst_tool_calls", "Tool calls by tool and outcome (agent runs and /mcp).", ["tenant", "tool", "outcome"],
    registry=REGISTRY,
)  # fmt: skip
REJECTIONS = Counter(
    "catalyst_rejections", "Requests refused by a limit or a budget.", ["tenant", "tier", "reason"], registry=REGISTRY
)
BREAKER = Gauge(
    "catalyst_breaker_open", "1 while a model's circuit breaker is open or half-open.", ["model"], registry=REGISTRY
)
WEBSOCKETS = Gauge("catalyst_websocket_connections", "Open chat WebSocket connections.", registry=REGISTRY)
QUEUE_DEPTH = Gauge(
    "catalyst_queue_depth", "Entries waiting to be written to the database.", ["queue"], registry=REGISTRY
)


def observe(request) -> None:
    """Count one finished or refused generation request (an apps.gateway.pipeline.Request)."""
    principal, usage = request.principal, request.usage
    tenant, tier, endpoint, outcome = principal.tenant_slug, principal.tier, request.endpoint, str(request.outcome)
    model = request.model.name if request.model else request.requested_model
    REQUESTS.labels(tenant, tier, endpoint, model, outcome).inc()
    if request.outcome in REFUSALS:
        REJECTIONS.labels(tenant, tier, outcome).inc()
        return
    LATENCY.labels(endpoint).observe(request.latency_ms / 1000)
    if request.ttft_ms is not None:
        TTFT.labels(endpoint).observe(request.ttft_ms / 1000)
    if getattr(request, "agent", None) is not None:
        return  # an agent run: each of its model calls counted its own tokens, cost and cache status
    if usage is not None:
        TOKENS.labels(tenant, tier, model, "in").inc(usage.input_tokens)
        TOKENS.labels(tenant, tier, model, "out").inc(usage.output_tokens)
    COST.labels(tenant, tier, model).inc(float(request.cost_usd))
    CACHE.labels(tenant, str(request.cache_status)).inc()
