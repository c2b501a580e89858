"""The OpenAPI document is generated from the request models and describes every endpoint."""


def _resolve(schema: dict, ref: str) -> dict:
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_schema_describes_every_endpoint_with_resolvable_request_models(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    schema = response.json()
    assert schema["openapi"] == "3.1.0"
    assert set(schema["paths"]) == {
        "/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/generate", "/v1/models", "/v1/me", "/v1/usage",
    }  # fmt: skip
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    request_model = _resolve(schema, chat["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert request_model["required"] == ["model", "messages"]
    assert request_model["properties"]["temperature"]["anyOf"][0] == {"maximum": 2.0, "minimum": 0.0, "type": "number"}
    assert _resolve(schema, chat["responses"]["401"]["content"]["application/json"]["schema"]["$ref"])["title"] == (
        "ErrorEnvelope"
    )
    messages = _resolve(
        schema, schema["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert "max_tokens" in messages["required"]
