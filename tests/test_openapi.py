"""The OpenAPI document is generated from the request and response models and describes every
endpoint with its real error envelope (tests/test_openapi_fuzz_live.py checks answers against it)."""

import pytest

PATHS = {
    "/health", "/ready",
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/generate",
    "/v1/responses", "/v1/responses/{response_id}",
    "/v1/messages", "/v1/messages/count_tokens",
    "/v1/models", "/v1/models/{model_id}", "/v1/usage", "/v1/me",
    "/v1/conversations", "/v1/conversations/{conversation_id}", "/v1/conversations/{conversation_id}/messages",
    "/v1/guardrails/check", "/v1/tools", "/v1/files", "/v1/files/{file_id}", "/v1/files/{file_id}/content",
    "/v1/vector_stores", "/v1/vector_stores/{store_id}", "/v1/vector_stores/{store_id}/files",
    "/v1/vector_stores/{store_id}/files/{file_id}", "/v1/vector_stores/{store_id}/search",
}  # fmt: skip


def _resolve(schema: dict, ref: str) -> dict:
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    return response.json()


def _json_ref(operation: dict, status: str) -> str:
    return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]


def test_every_endpoint_is_described_and_every_ref_resolves(schema):
    assert schema["openapi"] == "3.1.0"
    assert set(schema["paths"]) == PATHS
    assert set(schema["paths"]["/v1/conversations/{conversation_id}"]) == {"get", "patch", "delete"}
    assert set(schema["paths"]["/v1/responses/{response_id}"]) == {"get", "delete"}
    refs = []

    def collect(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    assert len(refs) > 100
    for ref in refs:
        assert isinstance(_resolve(schema, ref), dict), ref


def test_requests_are_the_validating_models_with_strict_json_types(schema):
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    request = _resolve(schema, chat["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert request["required"] == ["model", "messages"]
    assert request["properties"]["temperature"]["anyOf"][0] == {"maximum": 2.0, "minimum": 0.0, "type": "number"}
    assert request["properties"]["stream"] == {"default": False, "title": "Stream", "type": "boolean"}
    messages = schema["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "max_tokens" in _resolve(schema, messages["$ref"])["required"]


def test_each_answer_has_its_schema_and_each_error_its_envelope(schema):
    paths = schema["paths"]
    chat = paths["/v1/chat/completions"]["post"]
    assert _json_ref(chat, "200") == "#/components/schemas/ChatCompletion"
    assert chat["responses"]["200"]["content"]["text/event-stream"]["schema"]["required"] == ["data"]
    assert {"400", "401", "402", "403", "404", "413", "429", "502", "503", "504"} <= set(chat["responses"])
    assert _json_ref(chat, "402") == "#/components/schemas/ErrorEnvelope"
    messages = paths["/v1/messages"]["post"]
    assert _json_ref(messages, "404") == "#/components/schemas/AnthropicErrorEnvelope"
    assert _json_ref(paths["/v1/messages/count_tokens"]["post"], "400") == "#/components/schemas/AnthropicErrorEnvelope"
    assert _json_ref(paths["/v1/responses/{response_id}"]["get"], "200") == "#/components/schemas/Response"
    assert _json_ref(paths["/v1/usage"]["get"], "200") == "#/components/schemas/UsageReport"
    assert "204" in paths["/v1/conversations/{conversation_id}"]["delete"]["responses"]
    assert _json_ref(paths["/ready"]["get"], "503") == "#/components/schemas/Readiness"
    usage = _resolve(schema, "#/components/schemas/UsageReport")
    assert usage["properties"]["spend_usd"] == {
        "pattern": r"^\d+\.\d{8}$", "title": "Spend Usd", "type": "string",
        "description": "USD, a fixed-point decimal with eight places.",
    }  # fmt: skip


def test_security_is_a_bearer_everywhere_but_the_probes_and_a_key_header_on_anthropics(schema):
    paths = schema["paths"]
    assert schema["security"] == [{"bearer": []}]
    assert paths["/health"]["get"]["security"] == []
    assert paths["/ready"]["get"]["security"] == []
    assert paths["/v1/messages"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in paths["/v1/chat/completions"]["post"]
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key", "description": "API key (messages)",
    }  # fmt: skip
