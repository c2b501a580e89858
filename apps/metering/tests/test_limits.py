"""Token buckets and stream caps with a controlled clock, on Redis (shared) and in memory."""

import asyncio

import pytest

from apps.metering import limits
from apps.tenancy.principal import Limits, Principal


def run(coro):
    return asyncio.run(coro)


def principal(key_id=1, tenant_id=7, **caps) -> Principal:
    base = {"requests_per_minute": 3, "requests_per_hour": None, "tokens_per_minute": None, "concurrent_streams": 2}
    return Principal(
        tenant_id=tenant_id, tenant_slug="t", tier="free", method="api_key", key_id=key_id,
        limits=Limits(**{**base, **caps}),
    )  # fmt: skip


def admit(who, now, tokens=1, stream=False, request_id="r"):
    return run(limits.admit(who, token_cost=tokens, request_id=request_id, stream=stream, now=now))


def test_requests_per_minute_refill_at_their_rate(store):
    caller = principal()

    first = [admit(caller, 1000.0).allowed for _ in range(3)]
    refused = admit(caller, 1000.0)

    assert first == [True, True, True]
    assert (refused.allowed, refused.denied) == (False, "tenant requests/minute")
    assert refused.retry_after == pytest.approx(20.0)
    assert refused.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "60",
        "RateLimit-Policy": '"tenant requests/minute";q=3;w=60',
        "Retry-After": "20",
    }
    assert admit(caller, 1019.0).allowed is False
    assert admit(caller, 1020.0).allowed is True
    assert admit(caller, 1020.0).allowed is False


def test_the_headers_of_an_admitted_request_show_what_is_left(store):
    decision = admit(principal(), 1000.0)

    assert decision.allowed
    assert decision.headers()["RateLimit-Remaining"] == "2"
    assert decision.headers()["RateLimit-Reset"] == "20"
    assert "Retry-After" not in decision.headers()


def test_tokens_per_minute_count_tokens_and_are_corrected_after_the_call(store):
    caller = principal(requests_per_minute=100, tokens_per_minute=600)

    big = admit(caller, 1000.0, tokens=500)
    refused = admit(caller, 1000.0, tokens=200)
    assert big.allowed and not refused.allowed
    assert refused.denied == "tenant tokens/minute"
    assert refused.retry_after == pytest.approx(10.0)  # 100 tokens short at 10 tokens/s

    run(limits.settle(caller, big, actual_tokens=120, request_id="r", stream=False, now=1000.0))

    assert admit(caller, 1000.0, tokens=200).allowed


def test_a_key_cap_limits_one_key_while_the_tenant_bucket_is_shared(store):
    capped = principal(key_id=1, requests_per_minute=4, own_requests_per_minute=1)
    other = principal(key_id=2, requests_per_minute=4)

    assert admit(capped, 1000.0).allowed
    refused = admit(capped, 1000.0)
    assert (refused.allowed, refused.denied) == (False, "key requests/minute")
    assert [admit(other, 1000.0).allowed for _ in range(4)] == [True, True, True, False]


def test_requests_per_hour_hold_even_when_the_minute_bucket_refills(store):
    caller = principal(requests_per_minute=60, requests_per_hour=2)

    assert [admit(caller, 1000.0 + i * 5).allowed for i in range(3)] == [True, True, False]
    assert admit(caller, 1000.0 + 1799).denied == "tenant requests/hour"
    assert admit(caller, 1000.0 + 1800).allowed


def test_concurrent_streams_are_capped_and_freed_when_a_stream_ends(store):
    caller = principal(requests_per_minute=100)

    a = admit(caller, 1000.0, stream=True, request_id="a")
    b = admit(caller, 1000.0, stream=True, request_id="b")
    c = admit(caller, 1000.0, stream=True, request_id="c")
    assert (a.allowed, b.allowed, c.allowed) == (True, True, False)
    assert c.denied == "concurrent streams"
    assert admit(caller, 1000.0).allowed  # a non-streamed request needs no stream slot

    run(limits.settle(caller, a, actual_tokens=1, request_id="a", stream=True, now=1001.0))

    assert admit(caller, 1001.0, stream=True, request_id="d").allowed


def test_tenants_do_not_share_buckets(store):
    assert [admit(principal(tenant_id=1), 1000.0).allowed for _ in range(4)] == [True, True, True, False]
    assert admit(principal(tenant_id=2, key_id=9), 1000.0).allowed
