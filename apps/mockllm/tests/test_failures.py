"""Failures a gateway must survive: error statuses, random failures, scripts, auth and malformed requests."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from .conftest import KEY

HELLO = [{"role": "user", "content": "Hello, world!"}]


def _outcome(client: openai.OpenAI, model: str) -> int:
    """The status one chat request gets: 200, or the error status the SDK raised."""
    try:
        client.chat.completions.create(model=model, messages=HELLO)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


def test_a_429_raises_rate_limit_error_with_retry_after_headers(mock):
    with pytest.raises(openai.RateLimitError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock@status=429,retry_after=2", messages=HELLO)

    headers = failure.value.response.headers
    assert (headers["Retry-After"], headers["retry-after-ms"]) == ("2", "2000")
    assert failure.value.body == {
        "message": "Mock failure: status 429 requested by the behaviour.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }


def test_a_500_raises_internal_server_error_in_openais_envelope(mock):
    with pytest.raises(openai.InternalServerError) as failure:
        mock.openai().chat.completions.create(model="gpt-mock@status=500", messages=HELLO)

    assert failure.value.status_code == 500
    assert failure.value.body["type"] == "server_error"
    assert "Retry-After" not in failure.value.response.headers
    record = mock.record("gpt-mock@status=500")
    assert (record["outcome"], record["status"], record["tokens_sent"]) == ("failed", 500, 0)


def test_fail_rate_one_always_fails_and_zero_never_does(mock):
    client = mock.openai()

    always = [_outcome(client, "gpt-mock@fail_rate=1") for _ in range(5)]
    never = [_outcome(client, "gpt-mock@fail_rate=0,status=503") for _ in range(5)]

    assert always == [500] * 5
    assert never == [200] * 5


def test_a_fractional_fail_rate_repeats_exactly_after_a_reset(mock):
    client = mock.openai()
    model = "gpt-mock@fail_rate=0.5,status=503"

    first = [_outcome(client, model) for _ in range(12)]
    mock.reset()
    second = [_outcome(client, model) for _ in range(12)]

    assert first == second
    assert set(first) == {200, 503}


def test_a_script_is_consumed_exactly_in_order_then_behaviour_is_normal(mock):
    client = mock.openai()
    queued = mock.script("gpt-scripted", [{"status": 500}, {"status": 429, "retry_after": 0}, {}])

    outcomes = [_outcome(client, "gpt-scripted") for _ in range(4)]

    assert queued.json() == {"model": "gpt-scripted", "queued": 3}
    assert outcomes == [500, 429, 200, 200]
    assert [record["status"] for record in mock.records("gpt-scripted")] == [500, 429, 200, 200]
    assert _outcome(client, "gpt-other") == 200


def test_a_script_with_an_unknown_field_queues_nothing(mock):
    response = mock.script("gpt-scripted", [{"status": 500}, {"explode": 1}])

    assert response.status_code == 400
    assert _outcome(mock.openai(), "gpt-scripted") == 200


def test_a_missing_key_is_a_401_in_each_providers_envelope(mock):
    body = {"model": "gpt-mock", "messages": HELLO, "max_tokens": 5}

    chat = mock.http.post("/v1/chat/completions", json=body)
    messages = mock.http.post("/v1/messages", json=body)

    assert chat.status_code == 401
    assert chat.json()["error"] == {
        "message": "No API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert messages.status_code == 401
    assert messages.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "No API key provided."},
    }
    assert [record["authenticated"] for record in mock.records()] == [False, False]


def test_require_key_rejects_any_other_key_and_accepts_the_right_one(strict_mock):
    with pytest.raises(openai.AuthenticationError):
        strict_mock.openai(api_key="sk-wrong").chat.completions.create(model="gpt-mock", messages=HELLO)
    with pytest.raises(anthropic.AuthenticationError):
        strict_mock.anthropic(api_key="sk-wrong").messages.create(model="claude-mock", max_tokens=5, messages=HELLO)

    accepted = strict_mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO)

    assert accepted.choices[0].finish_reason == "stop"
    assert [record["authenticated"] for record in strict_mock.records()] == [False, False, True]


def test_malformed_json_is_a_400_never_a_500(mock):
    chat = mock.http.post("/v1/chat/completions", content=b'{"model": "gpt', headers={"Authorization": "Bearer k"})
    messages = mock.http.post("/v1/messages", content=b"[1, 2", headers={"x-api-key": "k"})
    not_an_object = mock.http.post("/v1/embeddings", content=b"[1, 2]", headers={"Authorization": "Bearer k"})

    assert (chat.status_code, chat.json()["error"]["type"]) == (400, "invalid_request_error")
    assert (messages.status_code, messages.json()["error"]["type"]) == (400, "invalid_request_error")
    assert not_an_object.status_code == 400
    assert [record["outcome"] for record in mock.records()] == ["failed"] * 3


def test_invalid_fields_are_400s_naming_the_parameter(mock):
    client = mock.openai()
    with pytest.raises(openai.BadRequestError) as no_messages:
        client.chat.completions.create(model="gpt-mock", messages=[])
    with pytest.raises(openai.BadRequestError) as unknown_tool:
        client.chat.completions.create(
            model="gpt-mock",
            messages=HELLO,
            tools=[{"type": "function", "function": {"name": "a", "parameters": {}}}],
            tool_choice={"type": "function", "function": {"name": "b"}},
        )

    assert no_messages.value.body["param"] == "messages"
    assert unknown_tool.value.body["param"] == "tool_choice"


def test_the_api_key_never_appears_in_the_record(mock):
    mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO)
    mock.anthropic().messages.create(model="claude-mock", max_tokens=5, messages=HELLO)
    mock.openai().embeddings.create(model="text-embedding-mock", input="alpha")

    raw = mock.http.get("/_mock/requests").text

    assert KEY not in raw
    assert [record["authenticated"] for record in json.loads(raw)["requests"]] == [True, True, True]


def test_a_scripted_text_is_answered_verbatim_streamed_or_not_by_both_dialects(mock):
    text = 'Hello <img src=x onerror="alert(1)"> and **bold**,\n\n```py\nprint(1)\n```'
    mock.script("gpt-text", [{"text": text}, {"text": text}])
    mock.script("claude-text", [{"text": text}])
    client = mock.openai()

    whole = client.chat.completions.create(model="gpt-text", messages=[{"role": "user", "content": "hi"}])
    chunks = client.chat.completions.create(model="gpt-text", messages=[{"role": "user", "content": "hi"}], stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    claude = mock.anthropic().messages.create(
        model="claude-text", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )

    assert whole.choices[0].message.content == streamed == claude.content[0].text == text
    assert whole.usage.completion_tokens == len(text.split()) == claude.usage.output_tokens
