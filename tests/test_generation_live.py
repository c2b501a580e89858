"""The official SDKs against a live Catalyst (uvicorn) in front of the mock LLM server."""

from __future__ import annotations

import json
from decimal import Decimal

import anthropic
import openai
import pytest

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# The live fixtures commit their own rows; the marker makes pytest-django create the test database.
pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello to the gateway"}]


@pytest.fixture
def oai(fresh) -> openai.OpenAI:
    return openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0, timeout=20)


@pytest.fixture
def claude(fresh) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fresh.server.url, api_key=fresh.key, max_retries=0, timeout=20)


def expected_cost(prompt: int, completion: int, price_in: str = "1", price_out: str = "2") -> str:
    total = (prompt * Decimal(price_in) + completion * Decimal(price_out)) / Decimal(1_000_000)
    return str(total.quantize(Decimal("0.00000001")))


def test_a_chat_completion_answers_with_the_model_usage_and_cost(oai, fresh):
    raw = oai.chat.completions.with_raw_response.create(model="gpt-mock", messages=HELLO)
    completion = raw.parse()

    [upstream] = fresh.mock.requests()
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-mock"
    assert completion.usage.prompt_tokens == upstream["prompt_tokens"]
    assert completion.usage.completion_tokens == upstream["tokens_sent"] == 20
    assert raw.headers["x-catalyst-model"] == "gpt-mock"
    assert raw.headers["x-catalyst-cache"] == "BYPASS"  # the suite turns the platform's cache policy off
    assert raw.headers["x-catalyst-cost-usd"] == expected_cost(upstream["prompt_tokens"], 20)
    assert raw.headers["x-request-id"].startswith("req_")
    assert upstream["request_id"] is None or upstream["request_id"] != fresh.key
    assert (upstream["endpoint"], upstream["stream"], upstream["outcome"]) == ("chat", False, "completed")


def test_a_streamed_chat_equals_the_unstreamed_one_and_reports_usage(oai, fresh):
    whole = oai.chat.completions.create(model="gpt-mock", messages=HELLO).choices[0].message.content

    chunks = list(
        oai.chat.completions.create(
            model="gpt-mock", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage.completion_tokens == 20
    assert usage.prompt_tokens == fresh.mock.requests()[-1]["prompt_tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_come_back_with_their_arguments(oai, stream):
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        calls: dict[int, dict] = {}
        finish = None
        for chunk in oai.chat.completions.create(
            model="gpt-mock", messages=messages, tools=[WEATHER_TOOL], stream=True
        ):
            for delta in chunk.choices[0].delta.tool_calls or () if chunk.choices else ():
                entry = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = delta.id or entry["id"]
                entry["name"] += delta.function.name or "" if delta.function else ""
                entry["arguments"] += delta.function.arguments or "" if delta.function else ""
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        [call] = calls.values()
        name, arguments = call["name"], call["arguments"]
        assert call["id"].startswith("call_")
    else:
        choice = oai.chat.completions.create(model="gpt-mock", messages=messages, tools=[WEATHER_TOOL]).choices[0]
        finish = choice.finish_reason
        [tool_call] = choice.message.tool_calls
        name, arguments = tool_call.function.name, tool_call.function.arguments
    assert finish == "tool_calls"
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "mock-city"}


def test_the_anthropic_sdk_works_against_catalyst_for_both_provider_kinds(claude, fresh):
    for model in ("claude-mock", "gpt-mock"):
        message = claude.messages.create(model=model, max_tokens=100, messages=HELLO)
        with claude.messages.stream(model=model, max_tokens=100, messages=HELLO) as stream:
            streamed = "".join(stream.text_stream)
            final = stream.get_final_message()

        assert message.model == model
        assert message.stop_reason == "end_turn"
        assert message.content[0].text == streamed == final.content[0].text
        assert message.usage.output_tokens == final.usage.output_tokens == 20
    assert [r["endpoint"] for r in fresh.mock.requests()] == ["messages", "messages", "chat", "chat"]


def test_anthropic_tool_use_round_trips(claude):
    tool = {"name": "get_weather", "description": "Weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}

    message = claude.messages.create(
        model="claude-mock", max_tokens=100, messages=[{"role": "user", "content": "Weather?"}], tools=[tool]
    )

    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert (block.type, block.name, block.input) == ("tool_use", "get_weather", {"city": "mock-city"})


def test_embeddings_come_back_as_the_provider_computed_them(oai, fresh):
    result = oai.embeddings.create(model="embed-mock", input=["alpha", "beta"], dimensions=8)

    assert [item.index for item in result.data] == [0, 1]
    assert all(len(item.embedding) == 8 for item in result.data)
    assert result.data[0].embedding != result.data[1].embedding
    assert abs(sum(x * x for x in result.data[0].embedding) - 1.0) < 1e-5
    assert fresh.mock.requests()[-1]["endpoint"] == "embeddings"


def test_models_lists_what_the_key_may_use_with_fallbacks(oai):
    listed = {m.id: m for m in oai.models.list().data}

    assert {"gpt-mock", "gpt-mini-mock", "claude-mock", "embed-mock", "primary", "resilient"} <= set(listed)
    assert listed["primary"].model_extra["fallbacks"] == ["backup", "last-resort"]
    assert listed["resilient"].model_extra["fallbacks"] == ["primary", "backup", "last-resort"]


def test_the_platform_generate_api_returns_content_and_accounting(fresh):
    import httpx

    response = httpx.post(
        fresh.base_url + "/generate",
        json={"prompt": "Summarise the gateway", "model": "gpt-mock"},
        headers={"Authorization": f"Bearer {fresh.key}"},
        timeout=20,
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["model_used"], body["pipeline_used"], body["cached"], body["tokens_out"]) == (
        "gpt-mock",
        "direct",
        False,
        20,
    )
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["cost_usd"] == expected_cost(body["tokens_in"], 20)


def test_each_request_writes_one_json_log_line_with_no_secret(oai, fresh):
    raw = oai.chat.completions.with_raw_response.create(model="gpt-mock", messages=HELLO)
    request_id = raw.headers["x-request-id"]

    lines = [line for line in fresh.server.log_lines() if line.get("request_id") == request_id]

    assert len(lines) == 1
    line = lines[0]
    assert line["message"] == "generation"
    assert (line["tenant"], line["model"], line["model_used"], line["provider"]) == (
        "live",
        "gpt-mock",
        "gpt-mock",
        "mock-openai",
    )
    assert (line["outcome"], line["attempts"], line["tokens_out"], line["stream"]) == ("ok", ["gpt-mock:ok"], 20, False)
    assert line["key_prefix"] == fresh.key[:12]
    assert line["cost_usd"] == raw.headers["x-catalyst-cost-usd"]
    assert line["latency_ms"] >= line["ttft_ms"] > 0
    assert "prompt" not in line
    whole_log = fresh.server.log_path.read_text()
    assert fresh.key not in whole_log
    assert "Say hello to the gateway" not in whole_log


def test_a_tenant_cannot_choose_the_upstream_url(fresh):
    import httpx

    elsewhere = fresh.mock.url.replace("127.0.0.1", "localhost") + "/elsewhere"
    body = {
        "model": "gpt-mock",
        "messages": HELLO,
        "api_base": elsewhere,
        "base_url": elsewhere,
        "extra_headers": {"x": "y"},
    }

    response = httpx.post(
        fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20
    )

    assert response.status_code == 200
    [upstream] = fresh.mock.requests()
    assert (upstream["model"], upstream["endpoint"]) == ("gpt-mock", "chat")


def test_an_oversized_body_is_refused_before_it_is_read_whole(fresh):
    import httpx

    response = httpx.post(
        fresh.base_url + "/chat/completions",
        content=b"{" + b" " * (4 * 1024 * 1024 + 10) + b"}",
        headers={"Authorization": f"Bearer {fresh.key}", "Content-Type": "application/json"},
        timeout=20,
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert response.headers["x-request-id"].startswith("req_")
    assert fresh.mock.requests() == []
