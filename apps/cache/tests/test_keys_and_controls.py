"""The cache key covers what changes an answer and nothing else; request controls parse strictly."""

from __future__ import annotations

import dataclasses

import pytest

from apps.cache import controls, store
from apps.core.errors import InvalidRequest
from apps.providers.types import ChatRequest, Finish, TextDelta, ToolCallDelta, Usage

HELLO = [{"role": "user", "content": "hi"}]


def key(tenant=1, use_case="", model="m", **params) -> str:
    return store.key(tenant, use_case, model, ChatRequest(messages=params.pop("messages", HELLO), **params))


def test_the_key_changes_with_the_tenant_the_use_case_the_model_and_every_answer_parameter():
    base = key()
    changed = {
        "tenant": key(tenant=2), "use case": key(use_case="faq"), "model": key(model="n"),
        "messages": key(messages=[{"role": "user", "content": "hi!"}]),
        "system": key(messages=[{"role": "system", "content": "be brief"}, *HELLO]),
        "temperature": key(temperature=0.5), "top_p": key(top_p=0.9), "max_tokens": key(max_tokens=9),
        "seed": key(seed=1), "stop": key(stop=["x"]), "response_format": key(response_format={"type": "json_object"}),
        "tools": key(tools=[{"type": "function", "function": {"name": "f"}}]), "tool_choice": key(tool_choice="none"),
    }  # fmt: skip

    assert all(value != base for value in changed.values())
    assert len(set(changed.values())) == len(changed)
    assert base.startswith("cache:1:")
    assert key(user="alice", metadata={"a": "b"}, service_tier="auto") == base  # who asked does not change it


def test_an_entry_round_trips_every_event_kind():
    events = (TextDelta("Hello"), ToolCallDelta(0, "call_1", "f", '{"a": 1}'), Usage(5, 7, 2), Finish("tool_calls"))
    entry = store.Entry(1.5, 60, "m", events, cost_usd=store.Decimal("0.00000100"))

    decoded = store.decode(store.encode(entry))

    assert decoded == entry
    assert decoded.usage == Usage(5, 7, 2)
    assert store.decode("{not json") is None
    assert store.decode('{"created": 1}') is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, controls.NONE),
        ({"Cache-Control": "no-cache"}, controls.Controls(no_cache=True)),
        ({"Cache-Control": "No-Store, max-age=30"}, controls.Controls(no_store=True, max_age=30)),
        ({"X-Catalyst-Cache-TTL": "120", "X-Catalyst-Use-Case": "faq"}, controls.Controls(ttl=120, use_case="faq")),
    ],
)
def test_controls_are_read_from_the_headers(headers, expected):
    assert controls.from_headers(headers) == expected


@pytest.mark.parametrize(
    ("headers", "param"),
    [
        ({"Cache-Control": "max-age=soon"}, "Cache-Control max-age"),
        ({"X-Catalyst-Cache-TTL": "-1"}, "X-Catalyst-Cache-TTL"),
        ({"X-Catalyst-Cache-TTL": "1" * 10}, "X-Catalyst-Cache-TTL"),
        ({"X-Catalyst-Use-Case": "Not A Name"}, "X-Catalyst-Use-Case"),
    ],
)
def test_bad_controls_are_a_400_naming_the_header(headers, param):
    with pytest.raises(InvalidRequest) as refused:
        controls.from_headers(headers)
    assert refused.value.param == param


def test_every_field_of_the_canonical_request_is_either_in_the_key_or_named_as_left_out():
    names = {field.name for field in dataclasses.fields(ChatRequest)}
    assert set(store._NOT_IN_KEY) <= names
    assert "n" not in names  # n > 1 is refused at validation: one answer per request
