"""Request parameters are passed through where the provider has them and refused clearly where it
has not, never dropped silently: an Anthropic model refuses logprobs, seed and penalties (400
`unsupported_parameter`), and a chain drops the fallbacks that could not honour the request."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.django_db
HELLO = [{"role": "user", "content": "Say hello"}]


def post(fresh, body: dict) -> httpx.Response:
    return httpx.post(
        fresh.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {fresh.key}"}, timeout=20
    )


@pytest.mark.parametrize(
    ("extra", "named"),
    [({"logprobs": True}, "logprobs"), ({"top_logprobs": 3, "logprobs": True}, "logprobs"), ({"seed": 7}, "seed"),
     ({"presence_penalty": 0.5}, "presence_penalty and frequency_penalty"),
     ({"service_tier": "flex"}, "service_tier 'flex'"),
     ({"response_format": {"type": "json_object"}, "tools": [{"type": "function", "function": {"name": "f"}}]},
      "response_format together with tools")],
)  # fmt: skip
def test_an_anthropic_model_refuses_what_it_cannot_honour(fresh, extra, named):
    refused = post(fresh, {"model": "claude-mock", "messages": HELLO, **extra})

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unsupported_parameter"
    assert refused.json()["error"]["message"] == (
        f"The model 'claude-mock' cannot honour {named}; leave it out or choose another model."
    )
    assert fresh.mock.requests() == []


def test_neutral_values_are_not_asks(fresh):
    answered = post(fresh, {"model": "claude-mock", "messages": HELLO, "logprobs": False, "presence_penalty": 0,
                            "service_tier": "auto", "user": "u-1", "parallel_tool_calls": True})  # fmt: skip

    assert answered.status_code == 200


def test_a_chain_drops_the_fallbacks_that_cannot_honour_the_request(fresh):
    fresh.mock.script("primary", [{"status": 500}] * 2)
    fresh.mock.script("backup-model", [{"status": 500}] * 2)

    with_seed = post(fresh, {"model": "primary", "messages": HELLO, "seed": 42})
    fresh.mock.script("primary", [{"status": 500}] * 2)
    fresh.mock.script("backup-model", [{"status": 500}] * 2)
    without = post(fresh, {"model": "primary", "messages": HELLO})

    assert with_seed.status_code == 502  # last-resort (Anthropic) cannot take a seed: never tried
    assert [r["model"] for r in fresh.mock.requests()][:4] == ["primary", "primary", "backup-model", "backup-model"]
    assert without.status_code == 200
    assert without.headers["x-catalyst-model"] == "last-resort"


def test_a_max_tokens_above_what_the_model_writes_is_lowered_to_its_maximum(fresh):
    """Clients' defaults (the AI SDK asks Claude models for 128,000) must not be a 400."""
    fresh.mock.script("claude-mock", [{"tokens": 5000}])
    response = httpx.post(
        fresh.server.url + "/v1/messages", headers={"x-api-key": fresh.key}, timeout=30,
        json={"model": "claude-mock", "max_tokens": 128_000, "messages": [{"role": "user", "content": "Write a lot"}]},
    )  # fmt: skip

    [upstream] = fresh.mock.requests()
    assert response.status_code == 200
    assert upstream["planned_tokens"] == 4096  # claude-mock writes at most 4,096
    assert response.json()["stop_reason"] == "max_tokens"
