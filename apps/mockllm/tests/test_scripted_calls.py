"""The `calls` behaviour: a test scripts exactly which tool calls the model makes, through the official SDKs."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from apps.mockllm.behaviour import Behaviour, BehaviourError, ScriptedCall, parse_pairs

CALLS = [
    {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}},
    {"name": "get_time", "arguments": {"zone": "Europe/Paris"}},
]
WEATHER_JSON = '{"city":"Paris","days":3}'  # 25 characters: 4 pieces of 8
TIME_JSON = '{"zone":"Europe/Paris"}'  # 23 characters: 3 pieces
QUESTION = [{"role": "user", "content": "Weather and time in Paris?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
LOOKUP_TOOL = {"name": "lookup_order", "input_schema": {"type": "object", "properties": {}}}


def scripted(calls: list[dict]) -> dict[str, str]:
    """The header that makes the next answer these calls (commas inside the JSON are fine)."""
    return {"X-Mock-Behaviour": "calls=" + json.dumps(calls)}


def test_calls_parse_from_json_text_or_a_list_and_none_unsets_them():
    expected = (ScriptedCall("get_weather", WEATHER_JSON), ScriptedCall("get_time", TIME_JSON))

    assert dict(parse_pairs("calls=" + json.dumps(CALLS) + ", tokens=3")) == {"calls": expected, "tokens": 3}
    assert Behaviour().merged({"calls": CALLS}).calls == expected
    assert Behaviour().merged({"calls": [{"name": "ping"}]}).calls == (ScriptedCall("ping", "{}"),)
    assert Behaviour().merged({"calls": [{"name": "f", "arguments": '{"a": oops'}]}).calls == (
        ScriptedCall("f", '{"a": oops'),
    )
    assert dict(parse_pairs("calls=none")) == {"calls": None}
    assert Behaviour().calls is None


@pytest.mark.parametrize(
    "value",
    [
        "[]",
        "{}",
        '"get_weather"',
        "[1]",
        '[{"arguments": {}}]',
        '[{"name": ""}]',
        '[{"name": 7}]',
        '[{"name": "f", "arguments": [1]}]',
        '[{"name": "f", "args": {}}]',
        "[{name: f}]",
    ],
)
def test_invalid_calls_are_refused(value):
    with pytest.raises(BehaviourError, match="behaviour 'calls="):
        Behaviour().merged({"calls": value})


def test_two_scripted_calls_arrive_in_one_openai_message(mock):
    completion = mock.openai().chat.completions.create(
        model="gpt-mock", messages=QUESTION, extra_headers=scripted(CALLS)
    )

    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("tool_calls", None)
    first, second = choice.message.tool_calls
    assert first.id.startswith("call_") and second.id.startswith("call_") and first.id != second.id
    assert (first.function.name, first.function.arguments) == ("get_weather", WEATHER_JSON)
    assert (second.function.name, second.function.arguments) == ("get_time", TIME_JSON)
    assert completion.usage.completion_tokens == 4 + 3


def test_two_scripted_calls_stream_one_after_the_other_and_the_sdk_reassembles_them(mock):
    client = mock.openai()
    header = scripted(CALLS)
    chunks = list(
        client.chat.completions.create(
            model="gpt-mock",
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=header,
        )
    )
    with client.chat.completions.stream(model="gpt-mock", messages=QUESTION, extra_headers=header) as stream:
        final = stream.get_final_completion()

    deltas = [
        chunk.choices[0].delta.tool_calls[0] for chunk in chunks if chunk.choices and chunk.choices[0].delta.tool_calls
    ]
    headers = [delta for delta in deltas if delta.id]
    assert [(delta.index, delta.function.name, delta.function.arguments) for delta in headers] == [
        (0, "get_weather", ""),
        (1, "get_time", ""),
    ]
    assert headers[0].id != headers[1].id
    assert [delta.index for delta in deltas] == [0] * 5 + [1] * 4  # a header, then its pieces of 8 characters
    pieces = [delta.function.arguments for delta in deltas if not delta.id]
    assert all(len(piece) <= 8 for piece in pieces)
    assert "".join(pieces) == WEATHER_JSON + TIME_JSON
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage.completion_tokens == 7
    calls = final.choices[0].message.tool_calls
    assert [(call.function.name, call.function.arguments) for call in calls] == [
        ("get_weather", WEATHER_JSON),
        ("get_time", TIME_JSON),
    ]
    assert calls[0].id != calls[1].id
    assert final.choices[0].finish_reason == "tool_calls"


def test_a_scripted_call_follows_a_tool_result_and_the_next_entry_answers_again(mock):
    """An agent loop: call, tool result, another call, tool result, then the plain answer."""
    model = "gpt-mock-agent"
    assert mock.script(model, [{"calls": CALLS[:1]}, {"calls": json.dumps(CALLS[1:])}]).status_code == 200
    client = mock.openai()
    first = client.chat.completions.create(model=model, messages=QUESTION, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages = [
        *QUESTION,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees"},
    ]

    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    third = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])

    assert (call.function.name, call.function.arguments) == ("get_weather", WEATHER_JSON)
    assert second.choices[0].finish_reason == "tool_calls"
    (again,) = second.choices[0].message.tool_calls
    assert (again.function.name, again.function.arguments) == ("get_time", TIME_JSON)
    assert third.choices[0].finish_reason == "stop"  # the script ran out: the usual answer to a tool result
    assert third.choices[0].message.content.startswith("Tool result: 18 degrees ")


def test_a_scripted_call_may_name_a_tool_that_was_not_offered_whatever_tool_choice_says(mock):
    client = mock.openai()
    header = scripted([{"name": "delete_everything", "arguments": {"confirm": True}}])
    unoffered = client.chat.completions.create(model="gpt-mock", messages=QUESTION, extra_headers=header)
    refused = client.chat.completions.create(
        model="gpt-mock", messages=QUESTION, tools=[WEATHER_TOOL], tool_choice="none", extra_headers=header
    )

    for completion in (unoffered, refused):
        (call,) = completion.choices[0].message.tool_calls
        assert (call.function.name, call.function.arguments) == ("delete_everything", '{"confirm":true}')
        assert completion.choices[0].finish_reason == "tool_calls"


def test_malformed_string_arguments_reach_the_openai_client_verbatim(mock):
    broken = '{"city": "Par'
    client = mock.openai()
    header = scripted([{"name": "get_weather", "arguments": broken}])
    completion = client.chat.completions.create(model="gpt-mock", messages=QUESTION, extra_headers=header)
    chunks = list(
        client.chat.completions.create(model="gpt-mock", messages=QUESTION, stream=True, extra_headers=header)
    )

    assert completion.choices[0].message.tool_calls[0].function.arguments == broken
    streamed = [chunk.choices[0].delta.tool_calls[0].function.arguments for chunk in chunks[:-1]]
    assert "".join(streamed) == broken
    assert completion.usage.completion_tokens == 2  # 13 characters: 2 pieces


def test_two_scripted_calls_are_two_anthropic_tool_use_blocks_streamed_or_not(mock):
    client = mock.anthropic()
    params = {"model": "claude-mock", "max_tokens": 100, "messages": QUESTION, "extra_headers": scripted(CALLS)}
    message = client.messages.create(**params)
    events = list(client.messages.create(stream=True, **params))
    with client.messages.stream(**params) as stream:
        final = stream.get_final_message()

    for reply in (message, final):
        assert reply.stop_reason == "tool_use"
        assert [(block.type, block.name, block.input) for block in reply.content] == [
            ("tool_use", "get_weather", {"city": "Paris", "days": 3}),
            ("tool_use", "get_time", {"zone": "Europe/Paris"}),
        ]
        assert all(block.id.startswith("toolu_") for block in reply.content)
        assert reply.content[0].id != reply.content[1].id
    assert message.usage.output_tokens == 7
    assert [(event.type, getattr(event, "index", None)) for event in events] == [
        ("message_start", None),
        ("content_block_start", 0),
        *[("content_block_delta", 0)] * 4,
        ("content_block_stop", 0),
        ("content_block_start", 1),
        *[("content_block_delta", 1)] * 3,
        ("content_block_stop", 1),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert [events[1].content_block.name, events[7].content_block.name] == ["get_weather", "get_time"]
    assert events[-2].delta.stop_reason == "tool_use"


def test_anthropic_scripted_calls_ignore_tools_and_tool_results_and_keep_input_an_object(mock):
    client = mock.anthropic()
    messages = [
        *QUESTION,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "shipped"}]},
    ]
    header = scripted([{"name": "refund", "arguments": "{not json"}])
    params = {"model": "claude-mock", "max_tokens": 100, "tools": [LOOKUP_TOOL], "messages": messages}
    message = client.messages.create(extra_headers=header, **params)
    with client.messages.stream(extra_headers=header, **params) as stream:
        final = stream.get_final_message()

    for reply in (message, final):
        (block,) = reply.content
        assert (reply.stop_reason, block.name, block.input) == ("tool_use", "refund", {})


def test_two_scripted_calls_are_two_function_call_items_in_the_responses_api(mock):
    client = mock.openai()
    response = client.responses.create(model="gpt-mock", input="Weather and time?", extra_headers=scripted(CALLS))
    with client.responses.stream(model="gpt-mock", input="Weather and time?", extra_headers=scripted(CALLS)) as stream:
        events = list(stream)
        final = stream.get_final_response()

    for reply in (response, final):
        assert [(item.type, item.name, item.arguments) for item in reply.output] == [
            ("function_call", "get_weather", WEATHER_JSON),
            ("function_call", "get_time", TIME_JSON),
        ]
        assert len({item.id for item in reply.output}) == len({item.call_id for item in reply.output}) == 2
    assert response.usage.output_tokens == 7
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert [event.output_index for event in events if event.type == "response.function_call_arguments.delta"] == [
        0
    ] * 4 + [1] * 3


@pytest.mark.parametrize("value", ["[]", '[{"name": ""}]', '[{"name": "f", "arguments": 3}]'])
def test_an_invalid_calls_value_is_a_400_wherever_it_is_given(mock, value):
    with pytest.raises(openai.BadRequestError) as header:
        mock.openai().chat.completions.create(
            model="gpt-mock", messages=QUESTION, extra_headers={"X-Mock-Behaviour": f"calls={value}"}
        )
    with pytest.raises(anthropic.BadRequestError) as suffix:
        mock.anthropic().messages.create(model=f"claude-mock@calls={value}", max_tokens=10, messages=QUESTION)
    script = mock.script("gpt-mock", [{"calls": json.loads(value)}])

    assert "behaviour 'calls=" in header.value.body["message"]
    assert suffix.value.body["error"]["type"] == "invalid_request_error"
    assert script.status_code == 400
    assert "behaviour 'calls=" in script.json()["error"]
