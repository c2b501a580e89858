"""Operators' endpoints: /metrics after traffic, /ready with its dependencies."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import AsyncClient

from apps.audit.models import AuditEntry
from apps.catalogue.models import LlmModel, Provider
from apps.catalogue.snapshot import catalogue_changed
from apps.core.redis.hotstore import RedisHotStore
from apps.tenancy.tokens import issue_token
from catalyst.testing.chat import ChatClient
from catalyst.testing.live import children, start_catalyst, start_otlp_sink, stop
from tests.conftest import METRICS_TOKEN, _database_url

pytestmark = pytest.mark.django_db

PROVIDER_CANARY = "sk-canary-provider-3b9d0c"


def scrape(fresh) -> str:
    response = httpx.get(fresh.server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels…}` (labels matched as a subset), or 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_need_the_token(fresh):
    assert httpx.get(fresh.server.url + "/metrics").status_code == 401
    wrong = httpx.get(fresh.server.url + "/metrics", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_metrics_token")


def test_requests_tokens_cost_latency_and_connections_appear_after_traffic(fresh):
    before = scrape(fresh)
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Count me"}]}
    served = [
        httpx.post(fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"})
        for _ in range(2)
    ]

    owner = get_user_model().objects.get(username="live-owner")
    token = issue_token(user_id=owner.pk, tenant_slug="live")

    async def hold_a_connection():
        client = await ChatClient.open(fresh.server.url, token)
        during = await asyncio.to_thread(scrape, fresh)
        await client.close()
        return during

    during = asyncio.run(hold_a_connection())
    after = scrape(fresh)

    ok = {"tenant": "live", "tier": "enterprise", "endpoint": "chat", "model": "gpt-mock", "outcome": "ok"}
    delta = value(after, "catalyst_requests_total", **ok) - value(before, "catalyst_requests_total", **ok)
    tokens_out = value(after, "catalyst_tokens_total", tenant="live", model="gpt-mock", direction="out") - value(
        before, "catalyst_tokens_total", tenant="live", model="gpt-mock", direction="out"
    )
    cost = value(after, "catalyst_cost_usd_total", tenant="live", model="gpt-mock") - value(
        before, "catalyst_cost_usd_total", tenant="live", model="gpt-mock"
    )
    latency = value(after, "catalyst_request_latency_seconds_count", endpoint="chat") - value(
        before, "catalyst_request_latency_seconds_count", endpoint="chat"
    )
    assert [r.status_code for r in served] == [200, 200]
    assert (delta, tokens_out, latency) == (2, 40, 2)
    assert cost == pytest.approx(sum(float(r.headers["x-catalyst-cost-usd"]) for r in served))
    assert value(during, "catalyst_websocket_connections") - value(after, "catalyst_websocket_connections") == 1
    assert value(after, "catalyst_breaker_open", model="gpt-mock") == 0
    assert 'catalyst_queue_depth{queue="audit"}' in after
    assert fresh.key not in after and "Count me" not in after


@pytest.fixture(scope="module")
def unreachable_provider(live, django_db_blocker):
    """A provider nothing listens for (port 9), with an enabled model, committed for the live server."""
    with django_db_blocker.unblock():
        provider = Provider.objects.create(name="nowhere", kind="openai", base_url="http://127.0.0.1:9/v1")
        LlmModel.objects.create(name="nowhere-model", provider=provider, upstream_name="m")
        catalogue_changed()
    yield
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name="nowhere-model").delete()
        Provider.objects.filter(name="nowhere").delete()
        catalogue_changed()


def test_ready_checks_the_database_migrations_and_redis_and_names_unreachable_providers(fresh, unreachable_provider):
    response = httpx.get(fresh.server.url + "/ready")

    checks = response.json()["checks"]
    assert (response.status_code, response.json()["status"]) == (200, "ready")  # a provider down is not "not ready"
    assert (checks["database"], checks["migrations"], checks["redis"]) == ("ok", "ok", "ok")
    assert checks["providers"] == {
        "mock-anthropic": "ok", "mock-openai": "ok", "nowhere": "unreachable: ConnectionRefusedError",
    }  # fmt: skip


def test_ready_says_which_dependency_is_down(monkeypatch, settings):
    unreachable = RedisHotStore("redis://127.0.0.1:1/0", "nowhere:")
    monkeypatch.setattr("apps.observability.readiness.hot_store", lambda: unreachable)

    async def ask():
        response = await AsyncClient().get("/ready")
        await sync_to_async(connections.close_all)()  # the view's connection lives on asgiref's thread
        return response

    response = asyncio.run(ask())

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("unavailable: ")


@pytest.fixture(scope="module")
def traced(live, django_db_blocker, tmp_path_factory):
    """A server that writes its spans to its log (console exporter)."""
    with django_db_blocker.unblock():
        url = _database_url()
    server = start_catalyst(
        url, tmp_path_factory.mktemp("traced") / "server.log", OTEL_TRACES_EXPORTER="console",
        CANARY_PROVIDER_KEY=PROVIDER_CANARY, METRICS_TOKEN=METRICS_TOKEN,
    )  # fmt: skip
    yield server
    stop(server.process)


def test_every_pipeline_stage_is_a_span_of_the_request_and_the_log_line_names_its_trace(fresh, traced):
    prompt = "canary-prompt-for-traces"
    body = {"model": "primary", "messages": [{"role": "user", "content": prompt}]}
    fresh.mock.script("primary", [{"status": 503}, {"status": 503}])  # both tries fail; the chain falls back
    response = httpx.post(
        traced.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20
    )
    request_id = response.headers["x-request-id"]

    deadline = time.monotonic() + 5
    spans: list[dict] = []
    while time.monotonic() < deadline and not {"catalyst.chat", "guard-log"} <= {s["name"] for s in spans}:
        time.sleep(0.1)  # the guardrails' log-only checks end their span after the response
        spans = [line["span"] for line in traced.log_lines() if "span" in line]
    root = next(s for s in spans if s["attributes"].get("catalyst.request_id") == request_id)
    trace_id = root["context"]["trace_id"]
    children = [s for s in spans if s["context"]["trace_id"] == trace_id and s is not root]
    log = next(line for line in traced.log_lines() if line.get("request_id") == request_id)

    assert response.status_code == 200
    assert (root["name"], root["parent_id"]) == ("catalyst.chat", None)
    assert {k: root["attributes"][k] for k in ("catalyst.tenant", "catalyst.model", "catalyst.cache")} == {
        "catalyst.tenant": "live", "catalyst.model": "backup", "catalyst.cache": "BYPASS",
    }  # fmt: skip
    assert root["attributes"]["catalyst.tokens_out"] == 20
    assert sorted(s["name"] for s in children) == [
        "authenticate", "cache", "guard", "guard-log", "limits", "provider.attempt", "provider.attempt",
        "provider.attempt", "route", "settle",
    ]  # fmt: skip
    assert {s["parent_id"] for s in children} == {root["context"]["span_id"]}
    attempts = [(s["attributes"]["catalyst.model"], s["attributes"]["catalyst.outcome"]) for s in children
                if s["name"] == "provider.attempt"]  # fmt: skip
    assert attempts == [("primary", "server_error"), ("primary", "server_error"), ("backup", "ok")]
    assert log["trace_id"] == trace_id.removeprefix("0x")
    text = traced.log_path.read_text()
    assert prompt not in text and fresh.key not in text


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    """The stand-in OpenTelemetry collector (catalyst/testing/otlp_sink.py), in its own process."""
    url, process = start_otlp_sink()
    yield url
    stop(process)


def test_otlp_export_runs_in_a_helper_process_and_delivers_every_span_once(fresh, collector, tmp_path):
    with connections["default"].cursor():
        database_url = _database_url()
    server = start_catalyst(
        database_url, tmp_path / "server.log", OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=collector,
        OTEL_SERVICE_NAME="catalyst-otlp-test",
    )  # fmt: skip
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Say hello to the collector"}]}
    headers = {"Authorization": f"Bearer {fresh.key}"}
    try:
        request_ids = [
            httpx.post(server.url + "/v1/chat/completions", json=body, headers=headers, timeout=20).headers[
                "x-request-id"
            ]
            for _ in range(3)
        ]
        exporters = [pid for pid in children(server.process.pid) if "span_export" in _command_line(pid)]
    finally:
        stop(server.process)  # a graceful stop: the helper exports what is left, then exits

    spans = httpx.get(collector + "/spans").json()
    mine = [s for s in spans if s["service"] == "catalyst-otlp-test"]
    roots = {s["attributes"]["catalyst.request_id"]: s for s in mine if s["name"] == "catalyst.chat"}
    assert len(exporters) == 1
    assert sorted(roots) == sorted(request_ids)
    for root in roots.values():
        stages = sorted(s["name"] for s in mine if s["trace_id"] == root["trace_id"] and s is not root)
        assert stages == [
            "authenticate",
            "cache",
            "guard",
            "guard-log",
            "limits",
            "provider.attempt",
            "route",
            "settle",
        ]
        assert {s["parent_span_id"] for s in mine if s["trace_id"] == root["trace_id"] and s is not root} == {
            root["span_id"]
        }
        assert root["parent_span_id"] == ""
        assert (root["attributes"]["catalyst.model"], root["attributes"]["catalyst.outcome"]) == ("gpt-mock", "ok")
        assert root["duration_ns"] > 0
    assert len(mine) == 3 * 9  # each span exactly once
    assert not _running(exporters[0])


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _running(pid: int) -> bool:
    """Whether a process still runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def canary_model(live, django_db_blocker):
    """A model whose provider key is a canary (read from the server's environment)."""
    with django_db_blocker.unblock():
        provider = Provider.objects.create(
            name="canary-openai", kind="openai", base_url=live.mock.url + "/v1", api_key_env="CANARY_PROVIDER_KEY"
        )
        LlmModel.objects.create(name="canary-mock", provider=provider, upstream_name="gpt-mock")
        catalogue_changed()
    yield "canary-mock"
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name="canary-mock").delete()
        Provider.objects.filter(name="canary-openai").delete()
        catalogue_changed()


def test_canaries_in_a_provider_key_an_api_key_and_a_jwt_never_leave_their_place(fresh, traced, canary_model):
    """Traffic of every kind (served, streamed, failed upstream, refused, malformed) through the
    traced server; then every surface an operator or auditor sees is searched for the secrets."""
    owner = get_user_model().objects.get(username="live-owner")
    jwt = issue_token(user_id=owner.pk, tenant_slug="live")
    prompt = "canary-prompt-e41f"
    chat = {"model": canary_model, "messages": [{"role": "user", "content": prompt}]}
    responses = []
    with httpx.Client(base_url=traced.url + "/v1", timeout=20) as client:
        for credential in (fresh.key, jwt):
            headers = {"Authorization": f"Bearer {credential}"}
            responses.append(client.post("/chat/completions", json=chat, headers=headers))
            responses.append(client.post("/chat/completions", json={**chat, "stream": True}, headers=headers))
            responses.append(client.post("/chat/completions", json={**chat, "model": "nope"}, headers=headers))
            responses.append(client.post("/chat/completions", content=b"{not json", headers=headers))
        fresh.mock.script("gpt-mock", [{"status": 401}])  # the provider refuses the (canary) key
        responses.append(client.post("/chat/completions", json=chat, headers={"Authorization": f"Bearer {fresh.key}"}))
        broken = fresh.key[:-4] + "zzzz"  # a near-miss of a real key
        responses.append(client.post("/chat/completions", json=chat, headers={"Authorization": f"Bearer {broken}"}))
    upstream_keys = {r["authenticated"] for r in fresh.mock.requests()}
    deadline = time.monotonic() + 10
    ids = [r.headers["x-request-id"] for r in responses]
    while time.monotonic() < deadline and AuditEntry.objects.filter(request_id__in=ids).count() < 5:
        time.sleep(0.05)
    time.sleep(0.3)  # the last spans and log lines

    surfaces = {
        "responses": "\n".join(r.text + str(dict(r.headers)) for r in responses),
        "logs and spans": traced.log_path.read_text(),
        "metrics": httpx.get(traced.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text,
        "audit": str(list(AuditEntry.objects.values_list("actor", "object_id", "payload"))),
    }
    statuses = [r.status_code for r in responses]

    assert statuses == [200, 200, 404, 400, 200, 200, 404, 400, 502, 401]
    assert upstream_keys == {True}  # the provider did receive a key: the canary went where it belongs
    assert AuditEntry.objects.filter(request_id__in=ids).count() >= 5
    assert '"span"' in surfaces["logs and spans"]
    assert "catalyst_requests_total" in surfaces["metrics"]
    for where, text in surfaces.items():
        for secret in (PROVIDER_CANARY, fresh.key, jwt, broken, prompt):
            assert secret not in text, f"a secret reached the {where}"


def test_guardrail_outcomes_reach_the_span_and_the_metrics_without_the_value(fresh, traced):
    """The platform's rules redact a secret and log an e-mail: the root span and the metric name the
    check, direction and action; no span, metric or log line holds either value."""
    secret, mail = "AKIAIOSFODNN7EXAMPLE", "mira.canary@example.org"
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": f"Is {secret} valid? Ask {mail}."}]}
    response = httpx.post(
        traced.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20
    )
    request_id = response.headers["x-request-id"]
    deadline, mine = time.monotonic() + 5, []
    while time.monotonic() < deadline and not {"catalyst.chat", "guard-log"} <= {s["name"] for s in mine}:
        time.sleep(0.1)
        spans = [line["span"] for line in traced.log_lines() if "span" in line]
        roots = [s for s in spans if s["attributes"].get("catalyst.request_id") == request_id]
        mine = [s for s in spans if roots and s["context"]["trace_id"] == roots[0]["context"]["trace_id"]]
    root = next(s for s in mine if s["name"] == "catalyst.chat")
    logged = next(s for s in mine if s["name"] == "guard-log")
    metrics = httpx.get(traced.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text

    assert response.status_code == 200
    assert root["attributes"]["catalyst.guardrails"] == ["input:secrets:redact"]
    assert logged["attributes"]["catalyst.guardrails"] == ["input:pii:log"]
    assert value(metrics, "catalyst_guardrail_outcomes_total", tenant="live", check="secrets", direction="input",
                 action="redact") >= 1  # fmt: skip
    assert value(metrics, "catalyst_guardrail_outcomes_total", tenant="live", check="pii", direction="input",
                 action="log") >= 1  # fmt: skip
    everything = traced.log_path.read_text() + metrics
    assert secret not in everything and mail not in everything
