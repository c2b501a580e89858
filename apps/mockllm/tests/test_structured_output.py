"""Structured output through the official SDKs: Chat Completions' response_format, Anthropic's tool forcing and
output_config; every answer parses into the model the client asked for, streamed or not."""

from __future__ import annotations

import json
import re

import openai
import pytest

from .structured import ORDER, PLAN, REQUIRED_ORDER, STRICT_ORDER, Order, Plan

HELLO = [{"role": "user", "content": "Hello, world!"}]
IN_JSON = [{"role": "user", "content": "Reply in JSON, please."}]
JSON_OBJECT = {"type": "json_object"}
ORDER_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "order", "schema": Order.model_json_schema(), "strict": False},
}
ORDER_TOKENS = 23  # the pieces of json.dumps(ORDER) between whitespace
TOKEN = re.compile(r"\s*\S+")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _stream_content(client: openai.OpenAI, **params) -> tuple[list[str], list]:
    chunks = list(client.chat.completions.create(model="gpt-mock", stream=True, **params))
    pieces = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    return pieces, chunks


def test_json_object_wraps_the_text_answer_in_one_object_streamed_word_by_word(mock):
    client = mock.openai()
    text = client.chat.completions.create(model="gpt-mock", messages=IN_JSON).choices[0].message.content
    whole = client.chat.completions.create(model="gpt-mock", messages=IN_JSON, response_format=JSON_OBJECT)
    pieces, chunks = _stream_content(
        client, messages=IN_JSON, response_format=JSON_OBJECT, stream_options={"include_usage": True}
    )

    content = whole.choices[0].message.content
    assert content == json.dumps({"answer": text})
    assert (whole.choices[0].finish_reason, whole.usage.completion_tokens) == ("stop", 20)
    first, *middle, last = TOKEN.findall(text)
    assert pieces == ['{"answer": "' + first, *middle, last + '"}']
    assert "".join(pieces) == content
    assert chunks[-1].usage.completion_tokens == 20


def test_json_object_without_json_in_the_messages_is_refused_like_openai_does(mock):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO, response_format=JSON_OBJECT)

    assert failure.value.body == {
        "message": "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": None,
    }


def test_json_schema_answers_the_instance_that_the_sdks_parse_helpers_turn_into_the_model(mock):
    client = mock.openai()
    completion = client.chat.completions.parse(model="gpt-mock", messages=HELLO, response_format=Order)
    with client.chat.completions.stream(model="gpt-mock", messages=HELLO, response_format=Order) as stream:
        final = stream.get_final_completion()

    message = completion.choices[0].message
    assert json.loads(message.content) == STRICT_ORDER
    assert message.parsed == Order.model_validate(STRICT_ORDER)
    assert (final.choices[0].message.content, final.choices[0].message.parsed) == (message.content, message.parsed)
    assert completion.choices[0].finish_reason == final.choices[0].finish_reason == "stop"


def test_a_json_schema_answer_streams_one_piece_per_token_and_equals_the_whole_answer(mock):
    client = mock.openai()
    whole = client.chat.completions.create(model="gpt-mock", messages=HELLO, response_format=ORDER_FORMAT)
    pieces, _ = _stream_content(client, messages=HELLO, response_format=ORDER_FORMAT)

    content = whole.choices[0].message.content
    assert content == json.dumps(ORDER)
    assert Order.model_validate_json(content).model_dump(mode="json") == ORDER
    assert pieces == TOKEN.findall(content)
    assert whole.usage.completion_tokens == len(pieces) == ORDER_TOKENS


def test_the_same_schema_gets_the_same_instance_whatever_the_conversation_and_length(mock):
    client = mock.openai()
    answers = {
        client.chat.completions.create(model=model, messages=messages, response_format=ORDER_FORMAT)
        .choices[0]
        .message.content
        for model, messages in [("gpt-mock", HELLO), ("gpt-mock-mini@tokens=3,prose=1", IN_JSON)]
    }

    assert answers == {json.dumps(ORDER)}


def test_max_tokens_cuts_structured_output_like_text_and_the_sdk_reports_the_cut(mock):
    client = mock.openai()
    text = client.chat.completions.create(model="gpt-mock", messages=IN_JSON).choices[0].message.content
    cut_object = client.chat.completions.create(
        model="gpt-mock", messages=IN_JSON, response_format=JSON_OBJECT, max_tokens=3
    )
    cut_schema = client.chat.completions.create(
        model="gpt-mock", messages=HELLO, response_format=ORDER_FORMAT, max_completion_tokens=5
    )
    pieces, chunks = _stream_content(client, messages=HELLO, response_format=ORDER_FORMAT, max_tokens=5)

    assert cut_object.choices[0].message.content == '{"answer": "' + "".join(TOKEN.findall(text)[:3])
    assert (cut_object.choices[0].finish_reason, cut_object.usage.completion_tokens) == ("length", 3)
    assert cut_schema.choices[0].message.content == "".join(TOKEN.findall(json.dumps(ORDER))[:5])
    assert (cut_schema.choices[0].finish_reason, cut_schema.usage.completion_tokens) == ("length", 5)
    assert "".join(pieces) == cut_schema.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "length"
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(model="gpt-mock", messages=HELLO, response_format=Order, max_tokens=5)


def test_a_tool_call_comes_before_structured_output_and_the_answer_after_its_result_is_json(mock):
    client = mock.openai()
    ask = [{"role": "user", "content": "Weather in JSON?"}]
    first = client.chat.completions.create(
        model="gpt-mock", messages=ask, tools=[WEATHER_TOOL], response_format=JSON_OBJECT
    )
    call = first.choices[0].message.tool_calls[0]
    result = {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"}
    messages = [*ask, first.choices[0].message.model_dump(exclude_none=True), result]
    as_object = client.chat.completions.create(
        model="gpt-mock", messages=messages, tools=[WEATHER_TOOL], response_format=JSON_OBJECT
    )
    as_order = client.chat.completions.parse(
        model="gpt-mock", messages=messages, tools=[openai.pydantic_function_tool(Plan)], response_format=Order
    )

    assert (first.choices[0].finish_reason, call.function.arguments) == ("tool_calls", '{"city":"mock-city"}')
    answer = json.loads(as_object.choices[0].message.content)["answer"]
    assert answer.startswith("Tool result: 18 degrees and sunny ")
    assert len(TOKEN.findall(answer)) == as_object.usage.completion_tokens == 20
    assert as_order.choices[0].message.parsed == Order.model_validate(STRICT_ORDER)


def test_a_scripted_text_is_the_answer_exactly_whatever_the_response_format(mock):
    mock.script("gpt-mock", [{"text": '{"status": "shipped"}'}])

    completion = mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO, response_format=ORDER_FORMAT)

    assert completion.choices[0].message.content == '{"status": "shipped"}'
    assert completion.usage.completion_tokens == 2


def test_a_text_response_format_answers_plain_text(mock):
    client = mock.openai()
    plain = client.chat.completions.create(model="gpt-mock", messages=HELLO)
    text = client.chat.completions.create(model="gpt-mock", messages=HELLO, response_format={"type": "text"})

    assert text.choices[0].message.content == plain.choices[0].message.content


@pytest.mark.parametrize(
    ("response_format", "param", "message"),
    [
        (
            {"type": "xml"},
            "response_format.type",
            "Invalid value: 'xml'. Supported values are: 'text', 'json_object', and 'json_schema'.",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": {}}},
            "response_format.json_schema.name",
            "Missing required parameter: 'response_format.json_schema.name'.",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": []}},
            "response_format.json_schema.schema",
            "Invalid type for 'response_format.json_schema.schema': expected an object.",
        ),
    ],
)
def test_a_malformed_response_format_is_a_400_naming_the_field(mock, response_format, param, message):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock", messages=IN_JSON, response_format=response_format)

    assert (failure.value.body["param"], failure.value.body["message"]) == (param, message)
    assert mock.record("gpt-mock")["outcome"] == "failed"


@pytest.mark.parametrize("choice", [{"type": "tool", "name": "record_order"}, {"type": "any"}])
def test_a_forced_anthropic_tool_gets_input_its_pydantic_model_accepts_streamed_or_not(mock, choice):
    client = mock.anthropic()
    tool = {"name": "record_order", "input_schema": Order.model_json_schema()}
    params = {"model": "claude-mock", "max_tokens": 50, "messages": HELLO, "tools": [tool], "tool_choice": choice}
    message = client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        final = stream.get_final_message()

    assert (message.stop_reason, message.content[0].name, message.content[0].input) == (
        "tool_use",
        "record_order",
        REQUIRED_ORDER,
    )
    assert final.content[0].input == REQUIRED_ORDER
    assert Order.model_validate(REQUIRED_ORDER).lines[0].price == 2.5


def test_anthropic_output_config_answers_a_json_text_block_the_parse_helpers_accept(mock):
    client = mock.anthropic()
    params = {"model": "claude-mock", "max_tokens": 100, "messages": HELLO, "output_format": Plan}
    parsed = client.messages.parse(**params)
    with client.messages.stream(**params) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert parsed.content[0].text == json.dumps(PLAN)
    assert parsed.parsed_output == final.parsed_output == Plan.model_validate(PLAN)
    assert (parsed.stop_reason, parsed.usage.output_tokens) == ("end_turn", len(pieces))
    assert pieces == TOKEN.findall(json.dumps(PLAN))


def test_a_malformed_anthropic_output_config_is_a_400(mock):
    response = mock.http.post(
        "/v1/messages",
        json={"model": "claude-mock", "max_tokens": 10, "messages": HELLO, "output_config": {"format": {"type": "x"}}},
        headers={"x-api-key": "key"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "output_config.format: expected {'type': 'json_schema', 'schema': {...}}",
    }
