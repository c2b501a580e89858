"""The rest of what the SDKs call: one model, legacy completions, Anthropic's token count, and the
errors they answer (404 for an unknown model, Anthropic's envelope under /v1/messages)."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from apps.metering import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def oai(fresh) -> openai.OpenAI:
    return openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0, timeout=30)


@pytest.fixture
def claude(fresh) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fresh.server.url, api_key=fresh.key, max_retries=0, timeout=30)


def test_one_model_is_listed_as_the_list_lists_it_and_an_unknown_one_is_404(oai):
    listed = {model.id: model for model in oai.models.list()}

    one = oai.models.retrieve("gpt-mock")
    chain = oai.models.retrieve("resilient")
    with pytest.raises(openai.NotFoundError) as missing:
        oai.models.retrieve("no-such-model")

    assert one.model_dump() == listed["gpt-mock"].model_dump()
    assert (chain.id, chain.owned_by) == ("resilient", "catalyst")
    assert missing.value.body["code"] == "model_not_found"


def test_an_unknown_model_is_404_model_not_found_as_openai_answers_it(oai):
    with pytest.raises(openai.NotFoundError) as missing:
        oai.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])

    assert (missing.value.body["code"], missing.value.body["param"]) == ("model_not_found", "model")


def test_legacy_completions_answer_a_prompt_plain_and_streamed(oai):
    plain = oai.completions.create(model="gpt-mock", prompt="Once upon a time", max_tokens=5)
    streamed = list(oai.completions.create(model="gpt-mock", prompt="Once upon a time", max_tokens=5, stream=True))
    default = oai.completions.create(model="gpt-mock", prompt="Once upon a time")

    chat = oai.chat.completions.create(model="gpt-mock", messages=[{"role": "user", "content": "Once upon a time"}])
    assert plain.object == "text_completion"
    assert plain.choices[0].text == chat.choices[0].message.content[: len(plain.choices[0].text)]
    assert (plain.choices[0].finish_reason, plain.usage.completion_tokens) == ("length", 5)
    assert "".join(chunk.choices[0].text for chunk in streamed if chunk.choices) == plain.choices[0].text
    assert default.usage.completion_tokens == 16  # the legacy endpoint's default max_tokens


def test_legacy_completions_refuse_what_only_a_raw_completion_model_could_do(oai):
    with pytest.raises(openai.BadRequestError) as refused:
        oai.completions.create(model="gpt-mock", prompt="x", echo=True)

    message = "echo, suffix and logprobs need a raw completion model; use chat completions."
    assert refused.value.body["message"] == message


def test_anthropic_token_counting_is_exact_for_openai_family_tokenizers_and_sent_nowhere(claude, fresh):
    counted = claude.messages.count_tokens(model="gpt-mock", messages=[{"role": "user", "content": "Count me, please"}])
    estimated = claude.messages.count_tokens(
        model="claude-mock", system="Be kind.", messages=[{"role": "user", "content": "Count me, please"}]
    )

    messages = [{"role": "user", "content": "Count me, please"}]
    assert counted.input_tokens == tokens.prompt_tokens(None, messages)
    assert estimated.input_tokens == tokens.prompt_tokens(None, [{"role": "system", "content": "Be kind."}, *messages])
    assert fresh.mock.requests() == []


def test_every_messages_error_uses_anthropics_envelope_404_included(fresh):
    headers = {"x-api-key": fresh.key}

    missing_route = httpx.post(fresh.server.url + "/v1/messages/batches", json={}, headers=headers)
    unknown_model = httpx.post(
        fresh.server.url + "/v1/messages", headers=headers,
        json={"model": "no-such-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
    )  # fmt: skip
    too_large = httpx.post(fresh.server.url + "/v1/messages", content=b"x" * (5 * 1024 * 1024), headers=headers)

    assert missing_route.status_code == 404
    assert missing_route.json() == {
        "type": "error", "error": {"type": "not_found_error", "message": "No route for POST /v1/messages/batches."},
    }  # fmt: skip
    assert (unknown_model.status_code, unknown_model.json()["error"]["type"]) == (404, "not_found_error")
    assert (too_large.status_code, too_large.json()["type"], too_large.json()["error"]["type"]) == (
        413, "error", "request_too_large",
    )  # fmt: skip
