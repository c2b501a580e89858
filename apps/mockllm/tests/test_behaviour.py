"""Behaviour parsing, the token rule, schema-built arguments, and the server's independence from Django."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from apps.mockllm.answers import arguments_for, count_tokens
from apps.mockllm.behaviour import Behaviour, BehaviourError, config_from_options, model_overrides, parse_pairs
from apps.mockllm.management.commands.runmock import Command

REPO = Path(__file__).resolve().parents[3]


def test_a_model_suffix_is_parsed_into_typed_overrides():
    assert dict(model_overrides("fast@tps=200,tokens=50")) == {"tps": 200.0, "tokens": 50}
    assert dict(model_overrides("stuck@hang=1")) == {"hang": True}
    assert model_overrides("gpt-mock") == ()


def test_a_header_value_uses_the_same_syntax():
    assert dict(parse_pairs("ttft_ms=100, status=503")) == {"ttft_ms": 100.0, "status": 503}


def test_prose_and_min_tokens_parse_like_the_other_behaviours():
    assert dict(model_overrides("gpt-mock@prose=1,min_tokens=40")) == {"prose": True, "min_tokens": 40}
    assert dict(parse_pairs("prose=off, min_tokens=none")) == {"prose": False, "min_tokens": None}
    assert (Behaviour().prose, Behaviour().min_tokens) == (False, None)


@pytest.mark.parametrize(
    "text",
    ["speed=1", "tokens=-1", "status=200", "fail_rate=2", "hang=maybe", "tokens", "prose=maybe", "min_tokens=-1"],
)
def test_invalid_overrides_are_refused(text):
    with pytest.raises(BehaviourError):
        parse_pairs(text)


def test_status_alone_always_fails_and_a_rate_makes_failures_random():
    rng = random.Random(0)

    assert Behaviour(status=503).failure_status(rng) == 503
    assert Behaviour(fail_rate=1).failure_status(rng) == 500
    assert Behaviour(fail_rate=0, status=503).failure_status(rng) == 0
    assert Behaviour().failure_status(rng) == 0


def test_prompt_tokens_are_words_and_punctuation():
    assert count_tokens(["Hello, world!", "It's 9:30."]) == 4 + 7  # Hello , world ! | It ' s 9 : 30 .


def test_arguments_fill_every_required_property_by_type():
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "on": {"type": "boolean"},
            "items": {"type": "array"},
            "mode": {"enum": ["b", "a"]},
            "maybe": {"type": ["null", "integer"]},
            "either": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
            "inner": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
            "optional": {"type": "string"},
        },
        "required": ["name", "count", "ratio", "on", "items", "mode", "maybe", "either", "inner"],
    }

    assert arguments_for(schema) == {
        "name": "mock-name",
        "count": 1,
        "ratio": 1.5,
        "on": True,
        "items": [],
        "mode": "b",
        "maybe": 1,
        "either": True,
        "inner": {"x": "mock-x"},
    }


def test_runmock_flags_become_the_process_behaviour():
    parser = Command().create_parser("manage.py", "runmock")
    options = vars(parser.parse_args(["--port", "8200", "--ttft-ms", "50", "--fail-rate", "0.25", "--status", "503"]))

    config = config_from_options(options)

    assert (config.port, config.behaviour.ttft_ms, config.behaviour.fail_rate, config.behaviour.status) == (
        8200,
        50.0,
        0.25,
        503,
    )
    assert config.behaviour.tokens == 20
    assert (config.behaviour.prose, config.behaviour.min_tokens, config.behaviour.tps) == (False, None, 0.0)


def test_runmock_pacing_and_prose_flags_become_the_process_behaviour():
    parser = Command().create_parser("manage.py", "runmock")
    flags = ["--ttft-ms", "300", "--tps", "30", "--prose", "--min-tokens", "40", "--tokens", "260"]

    behaviour = config_from_options(vars(parser.parse_args(flags))).behaviour

    assert behaviour == Behaviour(ttft_ms=300.0, tps=30.0, tokens=260, min_tokens=40, prose=True)


def test_the_server_module_imports_no_django():
    code = "import sys, apps.mockllm.server; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
