"""The semantic matcher's ordered check, and the packaged embedder (no download at run time)."""

from __future__ import annotations

import pytest

from apps.cache.semantic import same_question
from apps.embeddings.local import local_embedder

SIMILAR = local_embedder().word_similarity


@pytest.mark.parametrize(
    ("new", "stored"),
    [
        ("Book flights from New York to Florida", "Book flights from Florida to New York"),  # a bag of words is equal
        ("She moved from Estonia to Finland", "She moved to Estonia from Finland"),
        ("What is 15% of 200?", "What is 15% of 300?"),
        ("How do I reset the password of Alice?", "How do I reset the password of Bob?"),
        ("Why did the dog bite the man?", "Why did the man bite the dog?"),
        ("Summarise the contract", "Summarise the contract and list every penalty clause with its amount"),
        ("Is the store open on Sunday?", "Is the store closed on Sunday?"),  # antonyms embed close
        ("How do I delete the API key?", "How do I rotate the API key?"),
    ],
)
def test_questions_that_differ_in_meaning_are_not_the_same(new, stored):
    assert same_question(new, stored, SIMILAR) is False


@pytest.mark.parametrize(
    ("new", "stored"),
    [
        ("What is a circuit breaker?", "what is a circuit breaker"),
        ("A man is slicing a tomato.", "A man slices a tomato."),
        ("How do I rotate my API key?", "How do I rotate an API key?"),
        ("Explain the budget hold", "Please explain the budget hold"),
    ],
)
def test_rewordings_of_one_question_are_the_same(new, stored):
    assert same_question(new, stored, SIMILAR) is True


def test_the_packaged_embedder_gives_unit_vectors_and_ignores_word_order():
    vectors = local_embedder().embed(["flights from New York to Florida", "flights from Florida to New York", ""])

    assert vectors.shape == (3, 256)
    assert abs(float(vectors[0] @ vectors[0]) - 1) < 1e-5
    assert float(vectors[0] @ vectors[1]) > 0.99  # why the ordered check exists
