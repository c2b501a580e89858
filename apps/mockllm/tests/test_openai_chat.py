"""Chat Completions through the official openai SDK: text, streams, limits, tool calls and per-request behaviour."""

from __future__ import annotations

import json
import time

import openai
import pytest

HELLO = [{"role": "user", "content": "Hello, world!"}]  # 4 prompt tokens: Hello , world !
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "detail": {
                    "type": "object",
                    "properties": {"threshold": {"type": "number"}, "hourly": {"type": "boolean"}},
                    "required": ["threshold", "hourly"],
                },
                "tags": {"type": "array", "items": {"type": "string"}},
                "note": {"type": "string"},
            },
            "required": ["city", "days", "unit", "detail", "tags"],
        },
    },
}
CLOCK_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
WEATHER_ARGUMENTS = {
    "city": "mock-city",
    "days": 1,
    "unit": "celsius",
    "detail": {"threshold": 1.5, "hourly": True},
    "tags": [],
}


def _stream_text(client: openai.OpenAI, model: str, **params) -> tuple[list[str], list]:
    chunks = list(client.chat.completions.create(model=model, messages=HELLO, stream=True, **params))
    words = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    return words, chunks


def test_a_completion_echoes_the_model_and_counts_tokens_exactly(mock):
    completion = mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-mock"
    assert completion.system_fingerprint == "mock"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is None
    assert len(choice.message.content.split(" ")) == 20
    assert completion.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}) == {
        "prompt_tokens": 4,
        "completion_tokens": 20,
        "total_tokens": 24,
    }
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert completion.usage.completion_tokens_details.reasoning_tokens == 0


def test_the_same_conversation_always_gets_the_same_answer_and_another_gets_another(mock):
    client = mock.openai()
    first = client.chat.completions.create(model="gpt-mock", messages=HELLO).choices[0].message.content
    again = client.chat.completions.create(model="gpt-mock", messages=HELLO).choices[0].message.content
    other = client.chat.completions.create(model="gpt-mock", messages=[{"role": "user", "content": "Bye"}])

    assert again == first
    assert other.choices[0].message.content != first


def test_a_stream_sends_one_word_per_chunk_and_the_same_text_and_usage_as_a_completion(mock):
    client = mock.openai()
    whole = client.chat.completions.create(model="gpt-mock", messages=HELLO)

    words, chunks = _stream_text(client, "gpt-mock", stream_options={"include_usage": True})

    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    assert len(words) == 20
    assert all(word.startswith(" ") for word in words[1:])
    assert "".join(words) == whole.choices[0].message.content
    assert [chunk.choices[0].finish_reason for chunk in chunks[1:-1]] == [None] * 20 + ["stop"]
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens, chunks[-1].usage.total_tokens) == (
        4,
        20,
        24,
    )
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk.id for chunk in chunks} == {chunks[0].id}


def test_a_stream_without_include_usage_carries_no_usage(mock):
    words, chunks = _stream_text(mock.openai(), "gpt-mock")

    assert len(words) == 20
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


def test_stream_options_on_a_plain_request_is_refused_like_openai_does(mock):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO, stream_options={"include_usage": True})

    assert failure.value.body == {
        "message": "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        "type": "invalid_request_error",
        "param": "stream_options",
        "code": None,
    }


def test_max_tokens_cuts_the_answer_with_finish_reason_length(mock):
    client = mock.openai()
    full = client.chat.completions.create(model="gpt-mock", messages=HELLO).choices[0].message.content
    cut = client.chat.completions.create(model="gpt-mock", messages=HELLO, max_tokens=5)
    words, chunks = _stream_text(client, "gpt-mock", max_completion_tokens=5, stream_options={"include_usage": True})

    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == 5
    assert cut.choices[0].message.content == " ".join(full.split(" ")[:5])
    assert "".join(words) == cut.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage.completion_tokens == 5


def test_a_tool_call_carries_arguments_built_from_the_schema(mock):
    completion = mock.openai().chat.completions.create(
        model="gpt-mock", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL, CLOCK_TOOL]
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER_ARGUMENTS
    assert completion.usage.completion_tokens == 13  # 97 characters of JSON, streamed in pieces of 8


def test_tool_choice_forces_the_named_function_and_none_forces_text(mock):
    client = mock.openai()
    messages = [{"role": "user", "content": "Time?"}]
    forced = client.chat.completions.create(
        model="gpt-mock",
        messages=messages,
        tools=[WEATHER_TOOL, CLOCK_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    plain = client.chat.completions.create(
        model="gpt-mock", messages=messages, tools=[WEATHER_TOOL], tool_choice="none"
    )

    assert forced.choices[0].message.tool_calls[0].function.name == "get_time"
    assert forced.choices[0].message.tool_calls[0].function.arguments == "{}"
    assert plain.choices[0].finish_reason == "stop"
    assert plain.choices[0].message.tool_calls is None


def test_a_streamed_tool_call_arrives_in_pieces_that_the_sdk_reassembles(mock):
    client = mock.openai()
    chunks = list(
        client.chat.completions.create(
            model="gpt-mock", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL], stream=True
        )
    )
    with client.chat.completions.stream(
        model="gpt-mock", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()

    header = chunks[0].choices[0].delta.tool_calls[0]
    assert (header.index, header.type, header.function.name, header.function.arguments) == (
        0,
        "function",
        "get_weather",
        "",
    )
    pieces = [chunk.choices[0].delta.tool_calls[0].function.arguments for chunk in chunks[1:-1]]
    assert len(pieces) > 3
    assert json.loads("".join(pieces)) == WEATHER_ARGUMENTS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert final.choices[0].finish_reason == "tool_calls"
    assert json.loads(final.choices[0].message.tool_calls[0].function.arguments) == WEATHER_ARGUMENTS


def test_after_a_tool_message_the_answer_is_text_quoting_the_result(mock):
    client = mock.openai()
    first = client.chat.completions.create(
        model="gpt-mock", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL]
    )
    call = first.choices[0].message.tool_calls[0]
    messages = [
        {"role": "user", "content": "Weather?"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"},
    ]

    second = client.chat.completions.create(model="gpt-mock", messages=messages, tools=[WEATHER_TOOL])

    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].message.content.startswith("Tool result: 18 degrees and sunny ")
    assert second.usage.completion_tokens == 20


def test_the_behaviour_header_overrides_the_request(mock):
    client = mock.openai()
    short = client.chat.completions.create(
        model="gpt-mock", messages=HELLO, extra_headers={"X-Mock-Behaviour": "tokens=3"}
    )
    with pytest.raises(openai.InternalServerError) as failure:
        client.chat.completions.create(
            model="gpt-mock", messages=HELLO, extra_headers={"X-Mock-Behaviour": "status=503"}
        )

    assert short.usage.completion_tokens == 3
    assert failure.value.status_code == 503


def test_a_model_suffix_sets_length_and_keeps_the_same_words(mock):
    client = mock.openai()
    plain = client.chat.completions.create(model="gpt-mock", messages=HELLO).choices[0].message.content
    longer = client.chat.completions.create(model="gpt-mock@tokens=30", messages=HELLO)

    assert longer.model == "gpt-mock@tokens=30"
    assert longer.usage.completion_tokens == 30
    assert longer.choices[0].message.content.startswith(plain + " ")


def test_ttft_delays_the_answer_and_tps_paces_the_stream(mock):
    client = mock.openai()
    started = time.monotonic()
    client.chat.completions.create(model="gpt-mock@ttft_ms=200", messages=HELLO)
    delayed = time.monotonic() - started
    started = time.monotonic()
    words, _ = _stream_text(client, "gpt-mock@tps=50,tokens=6")
    paced = time.monotonic() - started

    assert delayed >= 0.2
    assert len(words) == 6
    assert paced >= 5 / 50


def test_an_unknown_behaviour_in_the_model_name_is_a_400(mock):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock@speed=9", messages=HELLO)

    assert failure.value.body["type"] == "invalid_request_error"
    assert "unknown behaviour 'speed'" in failure.value.body["message"]


def test_the_model_list_names_the_mock_models(mock):
    models = mock.openai().models.list()

    assert [model.id for model in models.data] == ["gpt-mock", "gpt-mock-mini", "text-embedding-mock", "claude-mock"]
    assert mock.records()[0]["endpoint"] == "models"
