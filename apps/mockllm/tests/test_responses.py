"""The Responses API through the official openai SDK: text, the typed event stream, function calls, text.format."""

from __future__ import annotations

import json

import openai
import pytest

from .structured import STRICT_ORDER, Order

HELLO = "Hello, world!"  # 4 input tokens
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
}
WEATHER_ARGUMENTS = '{"city":"mock-city","unit":"celsius"}'  # 37 characters: 5 pieces of 8
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 3,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_a_response_carries_the_chat_answer_as_one_message_with_usage(mock):
    client = mock.openai()
    chat = client.chat.completions.create(model="gpt-mock", messages=[{"role": "user", "content": HELLO}])

    response = client.responses.create(model="gpt-mock", input=HELLO)

    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model, response.incomplete_details) == (
        "response",
        "completed",
        "gpt-mock",
        None,
    )
    (message,) = response.output
    assert (message.type, message.role, message.status, message.id[:4]) == ("message", "assistant", "completed", "msg_")
    assert message.content[0].type == "output_text"
    assert response.output_text == chat.choices[0].message.content
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (4, 20, 24)
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (0, 0)
    assert [record["endpoint"] for record in mock.records()] == ["chat", "responses"]


def test_a_raw_stream_sends_the_real_events_numbered_in_order(mock):
    events = list(mock.openai().responses.create(model="gpt-mock@tokens=3", input=HELLO, stream=True))

    assert [event.type for event in events] == TEXT_EVENTS
    assert [event.sequence_number for event in events] == list(range(len(TEXT_EVENTS)))
    assert (events[0].response.status, events[0].response.output, events[0].response.usage) == ("in_progress", [], None)
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    final = events[-1].response
    assert "".join(deltas) == events[7].text == events[8].part.text == final.output_text
    assert {event.item_id for event in events[3:9]} == {final.output[0].id}
    assert (final.status, final.usage.output_tokens) == ("completed", 3)


def test_the_stream_helper_assembles_the_same_response_as_a_plain_request(mock):
    client = mock.openai()
    whole = client.responses.create(model="gpt-mock", input=HELLO)

    with client.responses.stream(model="gpt-mock", input=HELLO) as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert len(texts) == 20
    assert final.output_text == "".join(texts) == whole.output_text


def test_a_function_call_is_an_output_item_whose_arguments_stream_in_pieces(mock):
    client = mock.openai()
    response = client.responses.create(model="gpt-mock", input="Weather?", tools=[WEATHER_TOOL])
    events = list(client.responses.create(model="gpt-mock", input="Weather?", tools=[WEATHER_TOOL], stream=True))

    (call,) = response.output
    assert (call.type, call.name, call.arguments, call.status) == (
        "function_call",
        "get_weather",
        WEATHER_ARGUMENTS,
        "completed",
    )
    assert (call.id[:3], call.call_id[:5]) == ("fc_", "call_")
    assert response.usage.output_tokens == 5
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 5,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[2].item.arguments == ""
    assert "".join(event.delta for event in events[3:8]) == events[8].arguments == WEATHER_ARGUMENTS
    assert events[-1].response.output[0].arguments == WEATHER_ARGUMENTS


def test_a_forced_function_is_called_and_none_answers_text(mock):
    client = mock.openai()
    clock = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
    tools = [WEATHER_TOOL, clock]
    forced = client.responses.create(
        model="gpt-mock", input="Time?", tools=tools, tool_choice={"type": "function", "name": "get_time"}
    )
    plain = client.responses.create(model="gpt-mock", input="Time?", tools=tools, tool_choice="none")

    assert (forced.output[0].name, forced.output[0].arguments) == ("get_time", "{}")
    assert plain.output[0].type == "message"


def test_after_a_function_call_output_the_answer_quotes_the_result(mock):
    client = mock.openai()
    first = client.responses.create(model="gpt-mock", input="Weather?", tools=[WEATHER_TOOL])
    call = first.output[0]
    turns = [
        {"role": "user", "content": "Weather?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees and sunny"},
    ]

    second = client.responses.create(model="gpt-mock", input=turns, tools=[WEATHER_TOOL])

    assert second.output[0].type == "message"
    assert second.output_text.startswith("Tool result: 18 degrees and sunny ")
    assert second.usage.output_tokens == 20


def test_text_format_json_schema_answers_an_instance_that_responses_parse_turns_into_the_model(mock):
    client = mock.openai()
    parsed = client.responses.parse(model="gpt-mock", input=HELLO, text_format=Order)
    with client.responses.stream(model="gpt-mock", input=HELLO, text_format=Order) as stream:
        final = stream.get_final_response()

    assert json.loads(parsed.output_text) == STRICT_ORDER
    assert parsed.output_parsed == final.output_parsed == Order.model_validate(STRICT_ORDER)
    assert parsed.text.format.type == "json_schema"


def test_text_format_json_object_wraps_the_text_answer_and_needs_json_in_the_input(mock):
    client = mock.openai()
    ask = "Answer in JSON."
    text = client.responses.create(model="gpt-mock", input=ask).output_text
    answer = client.responses.create(model="gpt-mock", input=ask, text={"format": {"type": "json_object"}})
    with pytest.raises(openai.BadRequestError) as failure:
        client.responses.create(model="gpt-mock", input=HELLO, text={"format": {"type": "json_object"}})

    assert json.loads(answer.output_text) == {"answer": text}
    assert answer.usage.output_tokens == 20
    assert failure.value.body["param"] == "input"
    assert failure.value.body["message"].startswith("Response input messages must contain the word 'json'")


def test_max_output_tokens_makes_the_response_incomplete_streamed_or_not(mock):
    client = mock.openai()
    whole = client.responses.create(model="gpt-mock", input=HELLO)
    cut = client.responses.create(model="gpt-mock", input=HELLO, max_output_tokens=3)
    events = list(client.responses.create(model="gpt-mock", input=HELLO, max_output_tokens=3, stream=True))

    assert (cut.status, cut.incomplete_details.reason, cut.output[0].status) == (
        "incomplete",
        "max_output_tokens",
        "incomplete",
    )
    assert cut.output_text == " ".join(whole.output_text.split(" ")[:3])
    assert (cut.usage.output_tokens, cut.max_output_tokens) == (3, 3)
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.output_text == cut.output_text


def test_instructions_are_billed_and_echoed_and_message_items_are_read(mock):
    response = mock.openai().responses.create(
        model="gpt-mock",
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": HELLO}]}],
    )

    assert response.instructions == "Be brief."
    assert response.usage.input_tokens == 7


def test_an_input_that_is_not_a_conversation_is_a_400(mock):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().responses.create(model="gpt-mock", input=[42])

    assert (failure.value.body["param"], failure.value.body["message"]) == (
        "input[0]",
        "input[0] must be a message with a role or a typed item",
    )


def test_a_dropped_response_stream_resets_after_exactly_the_sent_deltas(mock):
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for event in mock.openai().responses.create(model="gpt-mock@drop_after=2", input=HELLO, stream=True):
            received.append(event.type)

    assert received == [*TEXT_EVENTS[:4], "response.output_text.delta", "response.output_text.delta"]
    record = mock.record("gpt-mock@drop_after=2")
    assert (record["endpoint"], record["outcome"], record["tokens_sent"]) == ("responses", "dropped", 2)
