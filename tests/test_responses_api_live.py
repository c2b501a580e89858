"""The OpenAI Responses API through the live server, with the official `openai` SDK as the client:
text, streaming events, stored responses (retrieve, delete, tenant-scoped), previous_response_id
chains, instructions, function tools, fallback to an Anthropic model, and the usage it bills."""

from __future__ import annotations

import time

import openai
import pytest

from apps.metering.models import UsageRecord
from apps.responses.models import StoredResponse

pytestmark = pytest.mark.django_db

WEATHER = {
    "type": "function", "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}  # fmt: skip


@pytest.fixture
def client(fresh) -> openai.OpenAI:
    return openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0, timeout=30)


@pytest.fixture
def other(fresh) -> openai.OpenAI:
    return openai.OpenAI(base_url=fresh.base_url, api_key=fresh.other_key, max_retries=0, timeout=30)


def chat_answer(client: openai.OpenAI, messages: list[dict]) -> str:
    """What the same (deterministic) mock answers as a chat completion, to compare with."""
    return client.chat.completions.create(model="gpt-mock", messages=messages).choices[0].message.content


def test_a_response_answers_is_stored_and_can_be_retrieved_and_deleted(client, fresh):
    created = client.responses.create(model="gpt-mock", input="Say hello to the responses API")

    fetched = client.responses.retrieve(created.id)
    deleted = client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.retrieve(created.id)

    assert created.id.startswith("resp_")
    assert created.status == "completed"
    assert created.model == "gpt-mock"
    assert created.output_text == chat_answer(client, [{"role": "user", "content": "Say hello to the responses API"}])
    assert [item.type for item in created.output] == ["message"]
    assert created.usage.output_tokens == 20
    assert created.usage.total_tokens == created.usage.input_tokens + 20
    assert (fetched.id, fetched.output_text) == (created.id, created.output_text)
    assert deleted is None or getattr(deleted, "deleted", True)
    assert gone.value.body["code"] == "not_found"


def test_a_streamed_response_sends_the_event_sequence_the_sdk_parses(client):
    with client.responses.stream(model="gpt-mock", input="Stream a few words") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()

    assert kinds[:4] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
    ]  # fmt: skip
    assert kinds.count("response.output_text.delta") == 20
    assert kinds[-4:] == [
        "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert final.output_text == chat_answer(client, [{"role": "user", "content": "Stream a few words"}])
    assert client.responses.retrieve(final.id).output_text == final.output_text  # stored before `completed`


def test_previous_response_id_continues_the_whole_chain_and_instructions_do_not_carry_over(client):
    first = client.responses.create(model="gpt-mock", input="My name is Ada.", instructions="Be brief.")
    second = client.responses.create(model="gpt-mock", input="What is my name?", previous_response_id=first.id)
    third = client.responses.create(model="gpt-mock", input="And again?", previous_response_id=second.id)

    history = [
        {"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "What is my name?"}, {"role": "assistant", "content": second.output_text},
        {"role": "user", "content": "And again?"},
    ]  # fmt: skip
    assert first.output_text == chat_answer(
        client, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My name is Ada."}]
    )
    assert third.output_text == chat_answer(client, history)
    assert third.previous_response_id == second.id


def test_function_tools_call_and_their_output_continues_the_response(client):
    called = client.responses.create(model="gpt-mock", input="Weather in Paris?", tools=[WEATHER])
    [call] = called.output
    answered = client.responses.create(
        model="gpt-mock", previous_response_id=called.id, tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}],
    )  # fmt: skip

    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city":"mock-city"}')
    assert answered.output_text.startswith("Tool result: sunny, 21 C")


def test_responses_are_private_to_their_tenant_and_store_false_keeps_nothing(client, other):
    mine = client.responses.create(model="gpt-mock", input="Mine only")
    unstored = client.responses.create(model="gpt-mock", input="Forget me", store=False)

    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError) as chained:
        other.responses.create(model="gpt-mock", input="Continue theirs", previous_response_id=mine.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    assert chained.value.body["param"] == "previous_response_id"
    assert not StoredResponse.objects.filter(pk=unstored.id).exists()
    assert StoredResponse.objects.get(pk=mine.id).tenant.slug == "live"


def test_a_response_falls_back_to_an_anthropic_model_and_is_billed_as_responses(client, fresh):
    fresh.mock.script("primary", [{"status": 500}] * 2)
    fresh.mock.script("backup-model", [{"status": 500}] * 2)

    raw = client.responses.with_raw_response.create(model="primary", input="Fall back, please")
    response = raw.parse()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not UsageRecord.objects.filter(request_id=raw.headers["x-request-id"]):
        time.sleep(0.05)
    record = UsageRecord.objects.get(request_id=raw.headers["x-request-id"])
    assert raw.headers["x-catalyst-model"] == "last-resort"
    assert response.model == "last-resort"
    assert response.output_text
    assert (record.endpoint, record.model, record.outcome) == ("responses", "last-resort", "ok")
    assert record.tokens_out == response.usage.output_tokens == 20
