"""Rate limits through the live server: headers on every answer, 429 in the envelope, stream caps.

`live-other` is on the free tier: 10 requests/minute, 20,000 tokens/minute, 1 concurrent stream.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import httpx
import pytest

from apps.metering.models import UsageRecord

pytestmark = pytest.mark.django_db

BODY = {"model": "gpt-mock", "messages": [{"role": "user", "content": "Say hello to the gateway"}]}


def post(fresh, body=BODY, key=None) -> httpx.Response:
    return httpx.post(
        fresh.base_url + "/chat/completions", json=body,
        headers={"Authorization": f"Bearer {key or fresh.other_key}"}, timeout=20,
    )  # fmt: skip


def test_every_answer_carries_ratelimit_headers_and_the_eleventh_request_gets_429(fresh):
    remaining = []
    for _ in range(10):
        response = post(fresh)
        assert response.status_code == 200
        remaining.append(response.headers["ratelimit-remaining"])

    refused = post(fresh)

    assert remaining == ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["ratelimit-limit"] == "10"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= 6
    assert len(fresh.mock.requests()) == 10  # the refused request never reached a provider
    assert post(fresh, key=fresh.key).status_code == 200  # another tenant is unaffected
    assert _record_of(refused.headers["x-request-id"]) == ("rate_limited", "gpt-mock", 0, 0, Decimal(0))


def _record_of(request_id: str) -> tuple:
    """The refusal's usage record: it reaches the database through the batched recorder."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = UsageRecord.objects.filter(request_id=request_id).values_list(
            "outcome", "model", "tokens_in", "tokens_out", "cost_usd"
        )
        if row:
            return row[0]
        time.sleep(0.05)
    return ()


def test_a_second_concurrent_stream_on_the_free_tier_is_refused(fresh):
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 30}])
    started = threading.Event()

    def slow_stream():
        with httpx.stream(
            "POST", fresh.base_url + "/chat/completions", json={**BODY, "stream": True},
            headers={"Authorization": f"Bearer {fresh.other_key}"}, timeout=20,
        ) as response:  # fmt: skip
            for _ in response.iter_lines():
                started.set()

    worker = threading.Thread(target=slow_stream)
    worker.start()
    assert started.wait(10)

    refused = post(fresh, {**BODY, "stream": True})
    worker.join(20)
    time.sleep(0.2)  # the finished stream's lease is released just after its last byte
    after = post(fresh, {**BODY, "stream": True})

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_concurrent_streams"
    assert after.status_code == 200
