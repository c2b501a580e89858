"""Every malformed or forbidden generation request gets its 4xx in the right envelope and never
reaches a provider (the catalogue points at a closed port: any upstream call would be a 502)."""

from __future__ import annotations

import json

import pytest

from apps.catalogue.models import LlmModel, ModelKind, Provider, ProviderKind
from apps.tenancy import services
from apps.tenancy.models import Tier

CLOSED_PORT = "http://127.0.0.1:9/v1"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def catalogue(world):
    provider = Provider.objects.create(name="nowhere", kind=ProviderKind.OPENAI, base_url=CLOSED_PORT)
    LlmModel.objects.create(
        name="small", provider=provider, upstream_name="small", max_output_tokens=100, context_window=1000
    )
    LlmModel.objects.create(name="vectors", provider=provider, upstream_name="vectors", kind=ModelKind.EMBEDDING)
    LlmModel.objects.create(name="exact", provider=provider, upstream_name="gpt-4o")  # counted by the real tokenizer
    premium = LlmModel.objects.create(name="premium", provider=provider, upstream_name="premium")
    premium.tiers.set([Tier.objects.get(name="enterprise")])
    return world


def post(client, path: str, body, key: str | None, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    if key:
        headers["authorization"] = f"Bearer {key}"
    return client.post(path, data=data, content_type="application/json", headers=headers)


CHAT_CASES = [
    ("{not json", 400, "invalid_request", None),
    ("[1, 2]", 400, "invalid_request", None),
    ({"messages": HELLO}, 400, "invalid_request", "model"),
    ({"model": "nope", "messages": HELLO}, 404, "model_not_found", "model"),  # as OpenAI answers it
    ({"model": "small", "messages": []}, 400, "invalid_request", "messages"),
    ({"model": "small", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "invalid_request", "messages.0"),
    ({"model": "small", "messages": [{"role": "user"}]}, 400, "invalid_request", "messages.0"),
    (
        {"model": "small", "messages": [{"role": "tool", "content": "x"}]},
        400,
        "invalid_request",
        "messages.0",
    ),
    ({"model": "small", "messages": HELLO, "temperature": 3}, 400, "invalid_request", "temperature"),
    ({"model": "small", "messages": HELLO, "top_p": -1}, 400, "invalid_request", "top_p"),
    ({"model": "small", "messages": HELLO, "n": 2}, 400, "invalid_request", "n"),
    ({"model": "small", "messages": HELLO, "max_tokens": 0}, 400, "invalid_request", "max_tokens"),
    # JSON types as the schema states them: a string is not a number, 0 is not false
    ({"model": "small", "messages": HELLO, "temperature": "0.5"}, 400, "invalid_request", "temperature"),
    ({"model": "small", "messages": HELLO, "max_tokens": "5"}, 400, "invalid_request", "max_tokens"),
    ({"model": "small", "messages": HELLO, "max_tokens": True}, 400, "invalid_request", "max_tokens"),
    ({"model": "small", "messages": HELLO, "max_tokens": 5.5}, 400, "invalid_request", "max_tokens"),
    ({"model": "small", "messages": HELLO, "stream": 0}, 400, "invalid_request", "stream"),
    (
        {"model": "small", "messages": HELLO, "stop": ["a", "b", "c", "d", "e"]},
        400,
        "invalid_request",
        "stop",
    ),
    (
        {"model": "small", "messages": HELLO, "tools": [{"type": "function", "function": {"name": "bad name!"}}]},
        400,
        "invalid_request",
        "tools.0",
    ),
    (
        {"model": "small", "messages": [{"role": "user", "content": "x" * 5000}]},
        400,
        "context_length_exceeded",
        "messages",
    ),
    ({"model": "vectors", "messages": HELLO}, 404, "model_not_found", "model"),
    # a forced tool the request does not offer would be refused upstream, after the hold
    (
        {"model": "small", "messages": HELLO, "tool_choice": {"type": "function", "function": {"name": "ghost"}}},
        400,
        "invalid_request",
        "tool_choice",
    ),
    ({"model": "small", "messages": HELLO, "tool_choice": "required"}, 400, "invalid_request", "tool_choice"),
    ({"model": "premium", "messages": HELLO}, 403, "model_not_allowed", "model"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), CHAT_CASES)
def test_a_bad_chat_request_gets_a_clear_4xx(catalogue, client, body, status, code, param):
    response = post(client, "/v1/chat/completions", body, catalogue.acme_key)

    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["message"]
    assert response["X-Request-Id"].startswith("req_")


def test_a_key_scoped_to_other_models_is_refused(catalogue, client):
    scoped = services.key_create(tenant=catalogue.acme, name="only premium", allowed_models=["premium"])

    response = post(client, "/v1/chat/completions", {"model": "small", "messages": HELLO}, scoped.plaintext)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_not_allowed"


def test_an_oversized_body_gets_413(catalogue, client, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1000
    body = {"model": "small", "messages": [{"role": "user", "content": "x" * 2000}]}

    response = post(client, "/v1/chat/completions", body, catalogue.acme_key)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_the_wrong_method_gets_405(catalogue, client):
    response = client.get("/v1/chat/completions", headers={"authorization": f"Bearer {catalogue.acme_key}"})

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "key_header", "status", "kind"),
    [
        ({"model": "small", "messages": HELLO}, True, 400, "invalid_request_error"),
        (
            {"model": "small", "max_tokens": 10, "messages": HELLO, "temperature": 1.5},
            True,
            400,
            "invalid_request_error",
        ),
        ({"model": "small", "max_tokens": 10, "messages": HELLO}, False, 401, "authentication_error"),
        ({"model": "premium", "max_tokens": 10, "messages": HELLO}, True, 403, "permission_error"),
    ],
)
def test_messages_errors_use_anthropics_envelope(catalogue, client, body, key_header, status, kind):
    headers = {"x-api-key": catalogue.acme_key} if key_header else {}

    response = post(client, "/v1/messages", body, None, **headers)

    assert response.status_code == status
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == kind
    assert payload["error"]["message"]


def test_generate_refuses_an_agent_without_tools_and_rag_without_stores(catalogue, client):
    agent = post(client, "/v1/generate", {"prompt": "hi", "pipeline": "agent", "model": "small"}, catalogue.acme_key)
    tools = post(client, "/v1/generate", {"prompt": "hi", "pipeline": "direct", "tools": ["calculator"]},
                 catalogue.acme_key)  # fmt: skip
    unknown = post(client, "/v1/generate", {"prompt": "hi", "pipeline": "agent", "tools": ["no_such_tool"],
                                            "model": "small"}, catalogue.acme_key)  # fmt: skip
    rag = post(client, "/v1/generate", {"prompt": "hi", "pipeline": "rag", "model": "small"}, catalogue.acme_key)
    direct = post(client, "/v1/generate", {"prompt": "hi", "pipeline": "direct", "vector_store_ids": ["vs_1"]},
                  catalogue.acme_key)  # fmt: skip

    assert (agent.status_code, agent.json()["error"]["code"], agent.json()["error"]["param"]) == (
        400, "invalid_request", "tools")  # fmt: skip
    assert (tools.status_code, tools.json()["error"]["param"]) == (400, "tools")
    assert (unknown.status_code, unknown.json()["error"]["code"], unknown.json()["error"]["param"]) == (
        400, "tool_not_available", "tools")  # fmt: skip
    for refused in (rag, direct):
        assert (refused.status_code, refused.json()["error"]["param"]) == (400, "vector_store_ids")


def test_embeddings_refuse_a_chat_model_and_empty_input(catalogue, client):
    wrong_kind = post(client, "/v1/embeddings", {"model": "small", "input": "x"}, catalogue.acme_key)
    empty = post(client, "/v1/embeddings", {"model": "vectors", "input": []}, catalogue.acme_key)

    # as OpenAI answers it
    assert (wrong_kind.status_code, wrong_kind.json()["error"]["code"]) == (404, "model_not_found")
    assert (empty.status_code, empty.json()["error"]["param"]) == (400, "input")


DEEP = (
    '{"model": "small", "messages": [{"role": "user", "content": "hi"}], "metadata": '
    + "[" * 50_000
    + "]" * 50_000
    + "}"
)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (DEEP, "invalid_request", "The request body is nested too deeply."),
        ({"model": "exact", "messages": [{"role": "user", "content": "x" * 3_900_000}]}, "context_length_exceeded",
         "487507 prompt tokens do not fit the 128000-token context of exact."),
        ('{"model": "small", "messages": [{"role": "user", "content": "\\ud83d\\ude00 \\udc00"}]}', "invalid_request",
         "messages.0.content: the text holds a lone UTF-16 surrogate, which is not valid Unicode."),
        ('{"model": "small", "messages": [{"role": "user", "content": "a\\u0000b"}]}', "invalid_request",
         "messages.0.content: the text holds a NUL character (U+0000), which cannot be stored."),
    ],
)  # fmt: skip
def test_input_that_broke_the_server_gets_its_400(catalogue, client, settings, body, code, message):
    """Deep nesting, a message past the tokenizer's limit and a lone surrogate were each a 500."""
    settings.GATEWAY_MAX_BODY_BYTES = 5 * 1024 * 1024

    response = post(client, "/v1/chat/completions", body, catalogue.acme_key)

    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["message"]) == (code, message)


def test_a_nul_in_a_stored_response_is_refused_before_anything_is_sent(catalogue, client):
    """A NUL reached PostgreSQL's jsonb when the response was stored, after the provider answered: a 500."""
    body = '{"model": "small", "input": [{"role": "user", "content": "x\\u0000"}], "store": true}'

    response = post(client, "/v1/responses", body, catalogue.acme_key)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "input.0.content: the text holds a NUL character (U+0000), which cannot be stored."
    )
    assert response.json()["error"]["param"] == "input"
