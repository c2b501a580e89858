"""A mock started with pacing flags, as `make run` starts it: the first token waits for ttft, the rest follow tps."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from apps.mockllm.behaviour import config_from_options
from apps.mockllm.management.commands.runmock import Command
from apps.mockllm.tests.conftest import MockServer, running

HELLO = [{"role": "user", "content": "Hello, world!"}]
FLAGS = ["--port", "0", "--ttft-ms", "300", "--tps", "200", "--prose", "--min-tokens", "40", "--tokens", "40"]


@pytest.fixture(scope="module")
def paced_mock() -> Iterator[MockServer]:
    options = vars(Command().create_parser("manage.py", "runmock").parse_args(FLAGS))
    with running(config_from_options(options)) as server:
        yield server


def test_a_paced_stream_waits_for_ttft_then_sends_tokens_at_tps(paced_mock):
    started = time.monotonic()
    stream = paced_mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO, stream=True)
    arrivals = [time.monotonic() for chunk in stream if chunk.choices and chunk.choices[0].delta.content]

    assert len(arrivals) == 40
    assert arrivals[0] - started >= 0.29
    assert 39 / 200 - 0.01 <= arrivals[-1] - arrivals[0] < 39 / 200 + 0.5


def test_a_paced_completion_waits_for_ttft_and_is_prose(paced_mock):
    started = time.monotonic()
    completion = paced_mock.openai().chat.completions.create(model="gpt-mock", messages=HELLO)
    waited = time.monotonic() - started

    assert waited >= 0.29
    assert completion.usage.completion_tokens == 40
    assert "\n\n" in completion.choices[0].message.content
    assert completion.choices[0].message.content[-1] in ".?!"
