"""Embeddings through the openai SDK, which asks for base64 unless told otherwise."""

from __future__ import annotations

import base64
import math
from array import array

import openai
import pytest

from apps.mockllm.answers import embedding


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def test_the_sdk_default_base64_path_returns_the_same_floats_as_the_float_format(mock):
    client = mock.openai()
    default = client.embeddings.create(model="text-embedding-mock", input=["alpha", "beta"])
    floats = client.embeddings.create(model="text-embedding-mock", input=["alpha", "beta"], encoding_format="float")

    assert [item.embedding for item in default.data] == [item.embedding for item in floats.data]
    assert [item.index for item in default.data] == [0, 1]
    assert len(default.data[0].embedding) == 1536
    assert default.model == "text-embedding-mock"
    assert (default.usage.prompt_tokens, default.usage.total_tokens) == (2, 2)


def test_base64_is_little_endian_float32(mock):
    response = mock.http.post(
        "/v1/embeddings",
        json={"model": "text-embedding-mock", "input": "alpha", "dimensions": 4, "encoding_format": "base64"},
        headers={"Authorization": "Bearer key"},
    )

    encoded = response.json()["data"][0]["embedding"]
    decoded = array("f", base64.b64decode(encoded)).tolist()  # this machine is little-endian
    assert decoded == list(embedding("alpha", 4))


def test_vectors_are_deterministic_unit_length_and_differ_between_texts(mock):
    client = mock.openai()
    first = client.embeddings.create(model="text-embedding-mock", input="alpha").data[0].embedding
    again = client.embeddings.create(model="text-embedding-mock", input="alpha").data[0].embedding
    other = client.embeddings.create(model="text-embedding-mock", input="beta").data[0].embedding

    assert again == first
    assert other != first
    assert _norm(first) == pytest.approx(1.0, abs=1e-6)
    assert _norm(other) == pytest.approx(1.0, abs=1e-6)


def test_dimensions_are_honoured(mock):
    response = mock.openai().embeddings.create(model="text-embedding-mock", input="alpha", dimensions=256)

    assert len(response.data[0].embedding) == 256
    assert _norm(response.data[0].embedding) == pytest.approx(1.0, abs=1e-6)


def test_token_arrays_are_embedded_and_counted_per_token(mock):
    response = mock.openai().embeddings.create(model="text-embedding-mock", input=[[1, 2, 3], [4, 5]], dimensions=8)

    assert len(response.data) == 2
    assert response.data[0].embedding != response.data[1].embedding
    assert response.usage.prompt_tokens == 5


def test_an_empty_input_is_a_400(mock):
    with pytest.raises(openai.BadRequestError) as failure:
        mock.openai().embeddings.create(model="text-embedding-mock", input=[])

    assert failure.value.body["param"] == "input"
    assert mock.record("text-embedding-mock")["outcome"] == "failed"
