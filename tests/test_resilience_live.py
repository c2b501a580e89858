"""Fallback, retries, the circuit breaker, deadlines and cancellation, against the live server.

The live server runs with BREAKER_FAILURE_THRESHOLD=3, BREAKER_COOLDOWN_SECONDS=1, one retry per
model and fast backoff; mock providers time out after 2 s.
"""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import openai
import pytest

# The live fixtures commit their own rows; the marker makes pytest-django create the test database.
pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello to the gateway"}]


@pytest.fixture
def oai(fresh) -> openai.OpenAI:
    return openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0, timeout=30)


def served_by(fresh, model: str) -> list[tuple[str, int, str]]:
    return [(r["model"], r["status"], r["outcome"]) for r in fresh.mock.requests() if r["model"] == model]


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 503}, {"status": 429, "retry_after": 0}])
def test_a_failing_primary_falls_back_to_the_next_model_silently(oai, fresh, failure):
    fresh.mock.script("primary", [failure, failure])

    raw = oai.chat.completions.with_raw_response.create(model="primary", messages=HELLO)

    assert raw.parse().choices[0].message.content
    assert raw.headers["x-catalyst-model"] == "backup"
    assert [r[1] for r in served_by(fresh, "primary")] == [failure["status"]] * 2
    assert served_by(fresh, "backup-model") == [("backup-model", 200, "completed")]


def test_a_retry_honours_retry_after_and_then_succeeds_on_the_same_model(oai, fresh):
    fresh.mock.script("primary", [{"status": 429, "retry_after": 0.4}])

    started = time.monotonic()
    raw = oai.chat.completions.with_raw_response.create(model="primary", messages=HELLO)
    elapsed = time.monotonic() - started

    assert raw.headers["x-catalyst-model"] == "primary"
    assert elapsed >= 0.4
    assert [r[1] for r in served_by(fresh, "primary")] == [429, 200]
    assert served_by(fresh, "backup-model") == []


def test_a_hanging_provider_times_out_and_the_chain_moves_on(oai, fresh):
    fresh.mock.script("primary", [{"hang": 1}, {"hang": 1}])

    raw = oai.chat.completions.with_raw_response.create(model="primary", messages=HELLO)

    assert raw.headers["x-catalyst-model"] == "backup"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and [r[2] for r in served_by(fresh, "primary")] != ["abandoned"] * 2:
        time.sleep(0.05)
    assert [r[2] for r in served_by(fresh, "primary")] == ["abandoned", "abandoned"]


def test_when_every_provider_fails_the_client_gets_502_in_the_envelope(oai, fresh):
    fresh.mock.script("primary", [{"status": 500}] * 2)
    fresh.mock.script("backup-model", [{"status": 500}] * 2)
    fresh.mock.script("claude-backup", [{"status": 500}] * 2)

    with pytest.raises(openai.APIStatusError) as failed:
        oai.chat.completions.create(model="primary", messages=HELLO)

    assert failed.value.status_code == 502
    assert failed.value.body["code"] == "upstream_failed"
    assert len(fresh.mock.requests()) == 6


def test_the_breaker_opens_after_exactly_n_failures_and_lets_one_probe_through_after_the_cooldown(oai, fresh):
    fresh.mock.script("gpt-mini-mock", [{"status": 500}] * 3 + [{"ttft_ms": 400}])

    codes = []
    for _ in range(3):
        with pytest.raises(openai.APIStatusError) as failed:
            oai.chat.completions.create(model="gpt-mini-mock", messages=HELLO)
        codes.append(failed.value.status_code)

    assert codes == [502, 502, 503]  # 2 failures, the 3rd opens it, then no traffic while open
    assert len(served_by(fresh, "gpt-mini-mock")) == 3

    time.sleep(1.1)
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(_status, fresh, "gpt-mini-mock") for _ in range(5)]
        statuses = sorted(f.result() for f in futures)

    assert statuses == [200, 503, 503, 503, 503]  # exactly one probe reached the provider
    assert len(served_by(fresh, "gpt-mini-mock")) == 4
    assert _status(fresh, "gpt-mini-mock") == 200  # the probe's success closed the breaker


def _status(fresh, model: str) -> int:
    response = httpx.post(
        fresh.base_url + "/chat/completions",
        json={"model": model, "messages": HELLO},
        headers={"Authorization": f"Bearer {fresh.key}"},
        timeout=20,
    )
    return response.status_code


def test_a_disconnecting_client_stops_the_upstream_stream_within_100_ms(fresh):
    body = {"model": "gpt-mock", "messages": HELLO, "stream": True}
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 400}])

    with httpx.Client(timeout=20) as client:
        with client.stream(
            "POST", fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"}
        ) as response:
            lines = response.iter_lines()
            received = [line for line in (next(lines) for _ in range(12)) if line.startswith("data:")]
        closed_at = time.time()

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and fresh.mock.requests()[-1]["outcome"] != "abandoned":
        time.sleep(0.01)
    [upstream] = fresh.mock.requests()
    assert len(received) >= 4
    assert upstream["outcome"] == "abandoned"
    assert upstream["ended_at"] - closed_at < 0.1
    sent = upstream["tokens_sent"]
    time.sleep(0.3)
    assert fresh.mock.requests()[0]["tokens_sent"] == sent < 400


def test_a_stream_that_breaks_after_tokens_ends_with_an_error_event(oai, fresh):
    fresh.mock.script("gpt-mock", [{"drop_after": 3}])

    stream = oai.chat.completions.create(model="gpt-mock", messages=HELLO, stream=True)
    text = []
    with pytest.raises(openai.APIError, match="stream broke off"):
        for chunk in stream:
            text.append(chunk.choices[0].delta.content or "")

    assert len([t for t in text if t]) == 3
    log = [line for line in fresh.server.log_lines() if line.get("message") == "generation"][-1]
    assert (log["outcome"], log["model_used"], log["tokens_out"]) == (
        "failed_midstream",
        "gpt-mock",
        (len("".join(text)) + 3) // 4,
    )


def test_text_no_encoder_accepts_is_refused_and_opens_no_breaker_for_other_tenants(fresh):
    """A lone surrogate once failed inside the SDK, was counted as a provider failure, and three
    such requests opened the shared breaker: every tenant then got 503."""
    lone = '{"model": "gpt-mock", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}'
    headers = {"Authorization": f"Bearer {fresh.other_key}", "Content-Type": "application/json"}

    refused = [httpx.post(fresh.base_url + "/chat/completions", content=lone, headers=headers) for _ in range(4)]
    other = httpx.post(
        fresh.base_url + "/chat/completions", json={"model": "gpt-mock", "messages": HELLO},
        headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20,
    )  # fmt: skip

    assert {r.status_code for r in refused} == {400}
    assert refused[0].json()["error"] == {
        "message": "messages.0.content: the text holds a lone UTF-16 surrogate, which is not valid Unicode.",
        "type": "invalid_request_error", "code": "invalid_request", "param": "messages",
    }  # fmt: skip
    assert other.status_code == 200
    assert fresh.mock.requests() == [fresh.mock.requests()[0]]  # only the other tenant's request went upstream


def test_the_breaker_gauge_reports_the_real_state_of_each_models_breaker(oai, fresh):
    """The gauge once asked the breakers by model name instead of breaker key: always 0."""
    from tests.conftest import METRICS_TOKEN

    def gauge() -> str:
        scraped = httpx.get(fresh.server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        return next(line for line in scraped.splitlines() if line.startswith('catalyst_breaker_open{model="gpt-mock"}'))

    fresh.mock.script("gpt-mock", [{"status": 500}] * 3)
    closed = gauge()
    for _ in range(2):
        with pytest.raises(openai.APIStatusError):
            oai.chat.completions.create(model="gpt-mock", messages=HELLO)

    assert closed.endswith(" 0.0")
    assert gauge().endswith(" 1.0")
    time.sleep(1.1)  # the cool-down: the next request is the probe, and it succeeds
    oai.chat.completions.create(model="gpt-mock", messages=HELLO)
    assert gauge().endswith(" 0.0")
