"""Hangs, drops and clients that leave: the record must show exactly what happened upstream, and when."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest

HELLO = [{"role": "user", "content": "Hello, world!"}]
RECORD_KEYS = {
    "body",
    "seq",
    "endpoint",
    "model",
    "stream",
    "request_id",
    "authenticated",
    "status",
    "outcome",
    "planned_tokens",
    "tokens_sent",
    "started_at",
    "first_token_at",
    "ended_at",
    "prompt_tokens",
}


def test_a_completed_request_is_recorded_in_full(mock):
    mock.openai().chat.completions.create(
        model="gpt-mock", messages=HELLO, stream=True, extra_headers={"X-Request-Id": "req-42"}
    ).response.read()

    (record,) = mock.records()
    assert set(record) == RECORD_KEYS
    assert {key: record[key] for key in RECORD_KEYS - {"started_at", "first_token_at", "ended_at"}} == {
        "body": {"model": "gpt-mock", "messages": HELLO, "stream": True},
        "seq": 1,
        "endpoint": "chat",
        "model": "gpt-mock",
        "stream": True,
        "request_id": "req-42",
        "authenticated": True,
        "status": 200,
        "outcome": "completed",
        "planned_tokens": 20,
        "tokens_sent": 20,
        "prompt_tokens": 4,
    }
    assert record["started_at"] <= record["first_token_at"] <= record["ended_at"]


def test_the_record_can_be_filtered_by_model(mock):
    client = mock.openai()
    client.chat.completions.create(model="gpt-mock", messages=HELLO)
    client.chat.completions.create(model="gpt-mock-mini", messages=HELLO)

    assert [record["model"] for record in mock.records("gpt-mock-mini")] == ["gpt-mock-mini"]
    assert [record["seq"] for record in mock.records()] == [1, 2]


def test_a_hung_request_times_out_in_the_sdk_and_is_recorded_abandoned(mock):
    started = time.time()
    with pytest.raises(openai.APITimeoutError):
        mock.openai(timeout=0.5).chat.completions.create(model="gpt-mock@hang=1", messages=HELLO)

    record = mock.wait_for("gpt-mock@hang=1", "abandoned")
    assert (record["outcome"], record["status"], record["tokens_sent"]) == ("abandoned", 0, 0)
    assert 0.5 <= record["ended_at"] - started < 1.0


@pytest.mark.asyncio
async def test_a_hanging_request_is_recorded_hung_until_its_client_leaves(mock):
    client = mock.async_openai()
    request = asyncio.create_task(client.chat.completions.create(model="gpt-mock@hang=1", messages=HELLO))
    await asyncio.sleep(0.2)
    while_hanging = await asyncio.to_thread(mock.record, "gpt-mock@hang=1")

    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    left = await asyncio.to_thread(mock.wait_for, "gpt-mock@hang=1", "abandoned")

    assert (while_hanging["outcome"], while_hanging["ended_at"]) == ("hung", None)
    assert left["outcome"] == "abandoned"
    await client.close()


def test_drop_after_cuts_the_stream_after_exactly_that_many_tokens(mock):
    received: list[str] = []
    stream = mock.openai().chat.completions.create(model="gpt-mock@drop_after=3", messages=HELLO, stream=True)

    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            assert chunk.choices[0].finish_reason is None
            if chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    assert len(received) == 3
    record = mock.record("gpt-mock@drop_after=3")
    assert (record["outcome"], record["tokens_sent"], record["planned_tokens"]) == ("dropped", 3, 20)


def test_drop_after_on_a_plain_completion_aborts_before_answering(mock):
    with pytest.raises(openai.APIConnectionError):
        mock.openai().chat.completions.create(model="gpt-mock@drop_after=0", messages=HELLO)

    record = mock.record("gpt-mock@drop_after=0")
    assert (record["outcome"], record["status"], record["tokens_sent"]) == ("dropped", 0, 0)


def test_a_closed_slow_stream_stops_upstream_at_once(mock):
    model = "gpt-mock@tps=20"
    stream = mock.openai().chat.completions.create(model=model, messages=HELLO, stream=True)
    received = 0
    for chunk in stream:
        if chunk.choices[0].delta.content:
            received += 1
            if received == 2:
                break
    closed_at = time.time()
    stream.close()

    record = mock.wait_for(model, "abandoned")
    time.sleep(0.3)  # at 20 tokens/s, six more tokens would have gone out by now
    later = mock.record(model)

    assert record["outcome"] == "abandoned"
    assert record["tokens_sent"] == 2
    assert later["tokens_sent"] == 2
    assert record["tokens_sent"] < record["planned_tokens"] == 20
    assert closed_at <= record["ended_at"] < closed_at + 0.1
