"""The breaker's state machine, on Redis (shared by instances) and in memory, with a controlled clock."""

import asyncio

import pytest

from apps.gateway import breaker


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.BREAKER_FAILURE_THRESHOLD = 3
    settings.BREAKER_COOLDOWN_SECONDS = 10


def test_it_opens_after_exactly_threshold_consecutive_failures(store):
    states = [run(breaker.record_failure("p/m", now=100.0 + i)) for i in range(3)]

    assert states == ["closed", "closed", "open"]
    assert run(breaker.allow("p/m", now=105.0)).state == "open"


def test_a_success_resets_the_count(store):
    run(breaker.record_failure("p/m", now=100.0))
    run(breaker.record_failure("p/m", now=101.0))
    decision = run(breaker.allow("p/m", now=102.0))
    assert (decision.state, decision.failures) == ("closed", 2)

    run(breaker.record_success("p/m", decision))

    assert run(breaker.record_failure("p/m", now=103.0)) == "closed"
    assert run(breaker.record_failure("p/m", now=104.0)) == "closed"


def test_after_the_cooldown_exactly_one_probe_goes_through(store):
    for i in range(3):
        run(breaker.record_failure("p/m", now=100.0 + i))

    assert run(breaker.allow("p/m", now=111.9)).state == "open"
    decisions = [run(breaker.allow("p/m", now=112.0 + i / 10)).state for i in range(4)]

    assert decisions == ["probe", "open", "open", "open"]


def test_a_failed_probe_reopens_for_a_full_cooldown_and_a_good_one_closes(store):
    for i in range(3):
        run(breaker.record_failure("p/m", now=100.0 + i))
    probe = run(breaker.allow("p/m", now=113.0))
    assert probe.state == "probe"

    assert run(breaker.record_failure("p/m", now=113.5)) == "open"
    assert run(breaker.allow("p/m", now=123.0)).state == "open"
    second = run(breaker.allow("p/m", now=123.5))
    assert second.state == "probe"

    run(breaker.record_success("p/m", second))
    assert run(breaker.allow("p/m", now=124.0)).state == "closed"


def test_breakers_of_different_models_are_independent(store):
    for i in range(3):
        run(breaker.record_failure("p/a", now=100.0 + i))

    assert run(breaker.allow("p/a", now=103.0)).state == "open"
    assert run(breaker.allow("p/b", now=103.0)).state == "closed"
