"""The Messages API through the official anthropic SDK: text, the event stream, tool_use and errors."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

HELLO = [{"role": "user", "content": "Hello, world!"}]  # 4 input tokens
SYSTEM = "Be brief."  # 3 more: Be brief .
LOOKUP_TOOL = {
    "name": "lookup_order",
    "description": "Find an order.",
    "input_schema": {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "quantity": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "shipped"]},
        },
        "required": ["order_id", "quantity", "status"],
    },
}
LOOKUP_INPUT = {"order_id": "mock-order_id", "quantity": 1, "status": "open"}


def test_a_message_has_text_usage_and_end_turn(mock):
    message = mock.anthropic().messages.create(model="claude-mock", max_tokens=100, system=SYSTEM, messages=HELLO)

    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "claude-mock")
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.content[0].type == "text"
    assert len(message.content[0].text.split(" ")) == 20
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 20)
    assert (message.usage.cache_creation_input_tokens, message.usage.cache_read_input_tokens) == (0, 0)


def test_the_stream_helper_yields_the_same_text_and_final_message(mock):
    client = mock.anthropic()
    whole = client.messages.create(model="claude-mock", max_tokens=100, messages=HELLO)

    with client.messages.stream(model="claude-mock", max_tokens=100, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert len(pieces) == 20
    assert "".join(pieces) == whole.content[0].text
    assert final.content[0].text == whole.content[0].text
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 20)


def test_a_raw_stream_follows_the_real_event_sequence(mock):
    events = list(mock.anthropic().messages.create(model="claude-mock", max_tokens=100, messages=HELLO, stream=True))

    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 20,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0].message.usage.input_tokens == 4
    assert events[0].message.usage.output_tokens == 1
    assert events[0].message.content == []
    assert events[1].content_block.type == "text"
    assert events[-2].delta.stop_reason == "end_turn"
    assert events[-2].usage.output_tokens == 20


def test_max_tokens_cuts_the_message_with_stop_reason_max_tokens(mock):
    client = mock.anthropic()
    full = client.messages.create(model="claude-mock", max_tokens=100, messages=HELLO).content[0].text
    cut = client.messages.create(model="claude-mock", max_tokens=4, messages=HELLO)

    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 4
    assert cut.content[0].text == " ".join(full.split(" ")[:4])


def test_tool_use_carries_input_built_from_the_schema_streamed_or_not(mock):
    client = mock.anthropic()
    params = {"model": "claude-mock", "max_tokens": 100, "tools": [LOOKUP_TOOL]}
    message = client.messages.create(messages=[{"role": "user", "content": "Where is my order?"}], **params)
    with client.messages.stream(messages=[{"role": "user", "content": "Where is my order?"}], **params) as stream:
        final = stream.get_final_message()

    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert (block.type, block.name, block.input) == ("tool_use", "lookup_order", LOOKUP_INPUT)
    assert block.id.startswith("toolu_")
    assert final.stop_reason == "tool_use"
    assert (final.content[0].type, final.content[0].name, final.content[0].input) == (
        "tool_use",
        "lookup_order",
        LOOKUP_INPUT,
    )


def test_a_tool_result_turn_gets_text_quoting_the_result(mock):
    client = mock.anthropic()
    first = client.messages.create(
        model="claude-mock", max_tokens=100, tools=[LOOKUP_TOOL], messages=[{"role": "user", "content": "Order?"}]
    )
    result = {"type": "tool_result", "tool_use_id": first.content[0].id, "content": "Order 42 shipped"}
    messages = [
        {"role": "user", "content": "Order?"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [result]},
    ]

    second = client.messages.create(model="claude-mock", max_tokens=100, tools=[LOOKUP_TOOL], messages=messages)

    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"
    assert second.content[0].text.startswith("Tool result: Order 42 shipped ")


def test_tool_choice_none_gets_text_and_a_named_tool_is_used(mock):
    client = mock.anthropic()
    other = {"name": "cancel_order", "input_schema": {"type": "object", "properties": {}}}
    params = {"model": "claude-mock", "max_tokens": 50, "messages": HELLO, "tools": [LOOKUP_TOOL, other]}
    plain = client.messages.create(tool_choice={"type": "none"}, **params)
    named = client.messages.create(tool_choice={"type": "tool", "name": "cancel_order"}, **params)

    assert plain.content[0].type == "text"
    assert (named.content[0].name, named.content[0].input) == ("cancel_order", {})


def test_missing_max_tokens_is_a_400_in_anthropics_envelope(mock):
    response = mock.http.post(
        "/v1/messages", json={"model": "claude-mock", "messages": HELLO}, headers={"x-api-key": "key"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (529, anthropic.OverloadedError, "overloaded_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
    ],
)
def test_error_statuses_raise_the_sdks_matching_error(mock, status, error_class, error_type):
    with pytest.raises(error_class) as failure:
        mock.anthropic().messages.create(model=f"claude-mock@status={status}", max_tokens=10, messages=HELLO)

    assert failure.value.status_code == status
    assert failure.value.body["type"] == "error"
    assert failure.value.body["error"]["type"] == error_type


def test_a_dropped_anthropic_stream_raises_after_exactly_the_sent_deltas(mock):
    """Unlike openai's, the anthropic SDK lets a mid-stream transport error escape unwrapped (httpx2.ReadError)."""
    received: list[str] = []
    with (
        pytest.raises(httpx2.ReadError),
        mock.anthropic().messages.stream(model="claude-mock@drop_after=3", max_tokens=100, messages=HELLO) as stream,
    ):
        received.extend(stream.text_stream)

    assert len(received) == 3
    record = mock.record("claude-mock@drop_after=3")
    assert (record["outcome"], record["tokens_sent"], record["status"]) == ("dropped", 3, 200)
